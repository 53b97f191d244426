from aleph_otio.cli import main

main()
