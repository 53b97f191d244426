"""Every limit of the Aleph 2.0 task reference is enforced, and errors name the API field."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from aleph_otio.api.models import (
    APIErrorObject,
    GetResponseTask,
    MediaStorageResult,
    MediaStorageUpload,
    VideoInferenceInputs,
    VideoInferenceTask,
    VideoResult,
    build_task,
    is_uuid4,
    validate_task,
)
from aleph_otio.config import APISettings
from aleph_otio.errors import AlephOtioError, InvalidParameterError
from aleph_otio.shots import GuideFrame, Shot, SourceSegment, TaskOptions

TASK_UUID = "6f1c2a9e-4b7d-4c1e-9a2f-0d3b5e7c9a11"
VIDEO_UUID = "0b9e4c4e-2d7a-4f5e-8c1b-3a6d9f2e7b10"
IMAGE_UUID = "5f4e3d2c-1b0a-4c9d-8e7f-6a5b4c3d2e1f"
MISSING = object()


def base_task() -> dict[str, Any]:
    return {
        "taskType": "videoInference",
        "taskUUID": TASK_UUID,
        "model": "runway:aleph@2.0",
        "positivePrompt": "Replace the red mug with a matte black tumbler.",
        "inputs": {"video": VIDEO_UUID},
    }


def patched(path: str, value: Any) -> dict[str, Any]:
    """The base task with ``path`` (dotted, ``[i]`` for list items) set or removed."""
    task = base_task()
    keys: list[str | int] = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        keys.append(int(part) if part.lstrip("-").isdigit() else part)
    node: Any = task
    for key in keys[:-1]:
        node = node[key]
    if value is MISSING:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return task


def with_frames(*items: Any) -> dict[str, Any]:
    return patched("inputs.frameImages", list(items))


def frame(**fields: Any) -> dict[str, Any]:
    return {"image": IMAGE_UUID, **fields}


# (task dict, API path the error must name)
INVALID: list[tuple[str, dict[str, Any], str]] = [
    # required fields
    ("no taskType", patched("taskType", MISSING), "taskType"),
    ("no taskUUID", patched("taskUUID", MISSING), "taskUUID"),
    ("no model", patched("model", MISSING), "model"),
    ("no prompt", patched("positivePrompt", MISSING), "positivePrompt"),
    ("no inputs", patched("inputs", MISSING), "inputs"),
    ("no inputs.video", patched("inputs.video", MISSING), "inputs.video"),
    ("no frame image", with_frames({"frame": "first"}), "inputs.frameImages[0].image"),
    # constants and enums
    ("taskType other", patched("taskType", "imageInference"), "taskType"),
    ("model v1", patched("model", "runway:2@1"), "model"),
    ("outputType base64", patched("outputType", "base64Data"), "outputType"),
    ("outputFormat GIF", patched("outputFormat", "GIF"), "outputFormat"),
    ("outputFormat lower", patched("outputFormat", "mp4"), "outputFormat"),
    ("deliveryMethod sync", patched("deliveryMethod", "sync"), "deliveryMethod"),
    ("safety mode", patched("safety", {"mode": "strict"}), "safety.mode"),
    ("safety checkContent", patched("safety", {"checkContent": "yes"}), "safety.checkContent"),
    ("safety extra", patched("safety", {"mode": "fast", "level": 2}), "safety.level"),
    ("frame middle", with_frames(frame(frame="middle")), "inputs.frameImages[0].frame"),
    ("frame 1", with_frames(frame(frame=1)), "inputs.frameImages[0].frame"),
    ("frame '0'", with_frames(frame(frame="0")), "inputs.frameImages[0].frame"),
    ("frame False", with_frames(frame(frame=False)), "inputs.frameImages[0].frame"),
    # UUID v4
    ("uuid v1", patched("taskUUID", str(uuid.uuid1())), "taskUUID"),
    ("uuid garbage", patched("taskUUID", "task-1"), "taskUUID"),
    ("uuid no hyphens", patched("taskUUID", TASK_UUID.replace("-", "")), "taskUUID"),
    # numeric bounds, both sides
    ("quality 19", patched("outputQuality", 19), "outputQuality"),
    ("quality 100", patched("outputQuality", 100), "outputQuality"),
    ("quality float", patched("outputQuality", 95.5), "outputQuality"),
    ("results 0", patched("numberResults", 0), "numberResults"),
    ("results 5", patched("numberResults", 5), "numberResults"),
    ("ttl 59", patched("ttl", 59), "ttl"),
    ("ttl float", patched("ttl", 60.5), "ttl"),
    ("timestamp -0.01", with_frames(frame(timestamp=-0.01)), "inputs.frameImages[0].timestamp"),
    ("timestamp 30.01", with_frames(frame(timestamp=30.01)), "inputs.frameImages[0].timestamp"),
    ("timestamp step", with_frames(frame(timestamp=1.005)), "inputs.frameImages[0].timestamp"),
    (
        "timestamp step on 3rd",
        with_frames(IMAGE_UUID, frame(frame="first"), frame(timestamp=4.125)),
        "inputs.frameImages[2].timestamp",
    ),
    # string lengths
    ("prompt empty", patched("positivePrompt", ""), "positivePrompt"),
    ("prompt blank", patched("positivePrompt", "   "), "positivePrompt"),
    ("prompt 1001", patched("positivePrompt", "x" * 1001), "positivePrompt"),
    ("prompt not str", patched("positivePrompt", 42), "positivePrompt"),
    # item counts
    ("frameImages empty", with_frames(), "inputs.frameImages"),
    ("frameImages 6", with_frames(*[IMAGE_UUID] * 6), "inputs.frameImages"),
    # exclusivity
    (
        "frame and timestamp",
        with_frames(frame(frame="first", timestamp=1.0)),
        "inputs.frameImages[0]",
    ),
    # kinds of input
    ("video local path", patched("inputs.video", "/tmp/clip.mp4"), "inputs.video"),
    ("video data uri", patched("inputs.video", "data:video/mp4;base64,AAAA"), "inputs.video"),
    ("frame image path", with_frames(IMAGE_UUID, "stills/sh010.png"), "inputs.frameImages[1]"),
    ("frame image int", with_frames(7), "inputs.frameImages[0]"),
    ("frame object path", with_frames({"image": "/x/a.png"}), "inputs.frameImages[0].image"),
    ("frame object extra", with_frames(frame(weight=1)), "inputs.frameImages[0].weight"),
    ("webhook not URI", patched("webhookURL", "hooks/runware"), "webhookURL"),
    ("webhook ftp", patched("webhookURL", "ftp://hooks.example.test/x"), "webhookURL"),
    ("uploadEndpoint not URI", patched("uploadEndpoint", "bucket"), "uploadEndpoint"),
    ("includeCost str", patched("includeCost", "true"), "includeCost"),
    # parameters Aleph 2.0 does not take
    ("seed", patched("seed", 42), "seed"),
    ("width", patched("width", 1280), "width"),
    ("inputs extra", patched("inputs.referenceImages", [IMAGE_UUID]), "inputs.referenceImages"),
]


@pytest.mark.parametrize(
    ("task", "parameter"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_task_names_the_field(task: dict[str, Any], parameter: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        validate_task(task)
    err = info.value
    assert err.parameter == parameter
    assert isinstance(err, AlephOtioError)
    message = str(err)
    assert "\n" not in message
    assert message.split("invalid videoInference task: ")[1].startswith(f"{parameter}: ")
    assert err.task_uuid == (task["taskUUID"] if isinstance(task.get("taskUUID"), str) else None)


VALID: list[tuple[str, dict[str, Any]]] = [
    ("minimal", base_task()),
    ("quality 20", patched("outputQuality", 20)),
    ("quality 99", patched("outputQuality", 99)),
    ("results 1", patched("numberResults", 1)),
    ("results 4", patched("numberResults", 4)),
    ("ttl 60", patched("ttl", 60)),
    ("MP4", patched("outputFormat", "MP4")),
    ("WEBM", patched("outputFormat", "WEBM")),
    ("MOV", patched("outputFormat", "MOV")),
    ("safety none", patched("safety", {"mode": "none"})),
    ("safety fast", patched("safety", {"checkContent": True, "mode": "fast"})),
    ("safety full", patched("safety", {"mode": "full"})),
    ("prompt 1 char", patched("positivePrompt", "x")),
    ("prompt 1000", patched("positivePrompt", "x" * 1000)),
    ("video URL", patched("inputs.video", "https://media.example.test/sh010.mp4")),
    ("1 frame image", with_frames(IMAGE_UUID)),
    ("5 frame images", with_frames(*[IMAGE_UUID] * 5)),
    ("frame first", with_frames(frame(frame="first"))),
    ("frame last", with_frames(frame(frame="last"))),
    ("frame 0", with_frames(frame(frame=0))),
    ("frame -1", with_frames(frame(frame=-1))),
    ("timestamp 0", with_frames(frame(timestamp=0))),
    ("timestamp 30", with_frames(frame(timestamp=30))),
    ("timestamp 4.25", with_frames(frame(timestamp=4.25))),
    ("timestamp 29.99", with_frames(frame(timestamp=29.99))),
    ("image only object", with_frames({"image": IMAGE_UUID})),
    ("image URL", with_frames("https://media.example.test/still.png")),
    ("image data URI", with_frames("data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==")),
    ("image base64", with_frames("iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB")),
    ("webhook with query", patched("webhookURL", "https://hooks.example.test/r?token=abc")),
    ("uploadEndpoint", patched("uploadEndpoint", "https://bucket.example.test/a.mp4?X-Sig=1")),
    ("includeCost", patched("includeCost", True)),
]


@pytest.mark.parametrize("task", [c[1] for c in VALID], ids=[c[0] for c in VALID])
def test_valid_task_round_trips_unchanged(task: dict[str, Any]) -> None:
    model = validate_task(copy.deepcopy(task))
    api = model.to_api()
    # Everything the caller gave comes back under the same API name and value...
    for key, value in task.items():
        assert api[key] == value
    # ...and the defaults the API documents are filled in.
    assert api["outputType"] == "URL" and api["deliveryMethod"] == "async"
    assert validate_task(api) == model


def test_to_api_uses_camel_case_and_omits_unset_optionals() -> None:
    task = VideoInferenceTask(
        task_type="videoInference",
        task_uuid=TASK_UUID,
        model="runway:aleph@2.0",
        positive_prompt="Relight to dusk.",
        inputs=VideoInferenceInputs(video=VIDEO_UUID, frame_images=[IMAGE_UUID]),
        output_quality=80,
        number_results=2,
        include_cost=True,
        webhook_url="https://hooks.example.test/r",
    )
    api = task.to_api()
    assert api == {
        "taskType": "videoInference",
        "taskUUID": TASK_UUID,
        "model": "runway:aleph@2.0",
        "positivePrompt": "Relight to dusk.",
        "inputs": {"video": VIDEO_UUID, "frameImages": [IMAGE_UUID]},
        "outputType": "URL",
        "outputFormat": "MP4",
        "outputQuality": 80,
        "webhookURL": "https://hooks.example.test/r",
        "deliveryMethod": "async",
        "includeCost": True,
        "numberResults": 2,
    }
    assert "ttl" not in api and "safety" not in api and "uploadEndpoint" not in api


def test_safety_serialises_only_what_was_set() -> None:
    api = validate_task(patched("safety", {"mode": "full"})).to_api()
    assert api["safety"] == {"mode": "full"}
    api = validate_task(patched("safety", {"checkContent": True})).to_api()
    assert api["safety"] == {"checkContent": True}


def test_frame_image_object_keeps_api_names() -> None:
    api = validate_task(with_frames(frame(frame=-1), frame(timestamp=2.5), IMAGE_UUID)).to_api()
    assert api["inputs"]["frameImages"] == [
        {"image": IMAGE_UUID, "frame": -1},
        {"image": IMAGE_UUID, "timestamp": 2.5},
        IMAGE_UUID,
    ]


def test_several_errors_are_reported_on_one_line() -> None:
    task = patched("outputQuality", 100)
    task["ttl"] = 10
    with pytest.raises(InvalidParameterError) as info:
        validate_task(task)
    message = str(info.value)
    assert info.value.parameter == "outputQuality"
    assert "outputQuality" in message and "ttl" in message and "\n" not in message


def test_long_prompt_is_not_pasted_into_the_message() -> None:
    with pytest.raises(InvalidParameterError) as info:
        validate_task(patched("positivePrompt", "y" * 5000))
    assert "yyyyyyyyyy" not in str(info.value) and "5000" in str(info.value)


def test_is_uuid4() -> None:
    assert is_uuid4(str(uuid.uuid4()))
    assert is_uuid4(TASK_UUID.upper())
    assert not is_uuid4(str(uuid.uuid1()))
    assert not is_uuid4("6f1c2a9e-4b7d-4c1e-1a2f-0d3b5e7c9a11")  # wrong variant


# --- requests and responses -------------------------------------------------------------------


def test_get_response_and_media_storage_requests() -> None:
    assert GetResponseTask(task_uuid=TASK_UUID).to_api() == {
        "taskType": "getResponse",
        "taskUUID": TASK_UUID,
    }
    upload = MediaStorageUpload(task_uuid=TASK_UUID, media="data:video/mp4;base64,AAAA")
    assert upload.to_api() == {
        "taskType": "mediaStorage",
        "taskUUID": TASK_UUID,
        "operation": "upload",
        "media": "data:video/mp4;base64,AAAA",
    }
    result = MediaStorageResult.model_validate(
        {
            "taskType": "mediaStorage",
            "taskUUID": TASK_UUID,
            "operation": "upload",
            "mediaUUID": VIDEO_UUID,
            "mediaURL": "https://im.example.test/m.mp4",
            "new": 1,
        }
    )
    assert (result.media_uuid, result.media_url) == (VIDEO_UUID, "https://im.example.test/m.mp4")


def test_video_result_success() -> None:
    item = VideoResult.model_validate(
        {
            "taskType": "videoInference",
            "taskUUID": TASK_UUID,
            "status": "success",
            "videoUUID": VIDEO_UUID,
            "videoURL": "https://vm.example.test/v.mp4",
            "cost": 2.8,
            "seed": 12,
            "NSFWContent": False,
            "resultIndex": 0,
        }
    )
    assert item.status == "success" and item.cost == 2.8 and item.seed == 12
    assert item.nsfw_content is False and item.video_url == "https://vm.example.test/v.mp4"


@pytest.mark.parametrize(
    "raw",
    [
        {"taskUUID": TASK_UUID, "status": "error", "code": "timeoutProvider", "message": "late"},
        {
            "taskUUID": TASK_UUID,
            "status": "error",
            "error": {"code": "timeoutProvider", "message": "late"},
        },
        {"taskUUID": TASK_UUID, "code": "timeoutProvider", "message": "late"},
    ],
    ids=["errors item", "error object", "inline code"],
)
def test_video_result_failure_shapes(raw: dict[str, Any]) -> None:
    item = VideoResult.model_validate(raw)
    assert (item.status, item.error_code, item.error_message) == (
        "error",
        "timeoutProvider",
        "late",
    )


def test_video_result_unknown_terminal_status_is_a_failure() -> None:
    item = VideoResult.model_validate({"taskUUID": TASK_UUID, "status": "cancelled"})
    assert item.status == "error" and "cancelled" in (item.error_message or "")


@pytest.mark.parametrize("status", ["processing", "pending", "queued", None])
def test_video_result_pending_statuses(status: str | None) -> None:
    raw: dict[str, Any] = {"taskUUID": TASK_UUID}
    if status:
        raw["status"] = status
    assert VideoResult.model_validate(raw).status == "processing"


def test_api_error_object() -> None:
    err = APIErrorObject.model_validate(
        {
            "code": "unsupportedDuration",
            "message": "bad",
            "parameter": ["inputs.video", "x"],
            "taskType": "videoInference",
            "taskUUID": TASK_UUID,
            "type": "float",
            "allowedValues": [5, 10],
            "documentation": "https://runware.ai/docs",
        }
    )
    assert err.parameter_name == "inputs.video, x"
    assert err.allowed_values == [5, 10] and err.task_uuid == TASK_UUID and err.type == "float"


# --- build_task --------------------------------------------------------------------------------


def make_shot(
    prompt: str = "Remove the boom mic.",
    guides: list[GuideFrame] | None = None,
    options: TaskOptions | None = None,
) -> Shot:
    segment = SourceSegment(
        clip_name="A010C004",
        track_name="V1",
        track_index=0,
        clip_index=2,
        media_path="/media/A010C004.mov",
        media_rate=24.0,
        available_start=86400.0,
        media_start_frame=10,
        media_frame_count=96,
        record_start=0.0,
        record_duration=96.0,
        record_rate=24.0,
        clip_source_start=86410.0,
        clip_source_duration=96.0,
        clip_source_rate=24.0,
        source_tc_in="01:00:00:10",
        source_tc_out="01:00:04:10",
        record_tc_in="00:00:00:00",
    )
    return Shot(
        id="abc123",
        name="sh010 A010C004",
        prompt=prompt,
        segments=[segment],
        guides=guides or [],
        options=options or TaskOptions(),
        marker_location="edit.otio V1 A010C004 01:00:00:10",
    )


def test_build_task_maps_shot_and_settings() -> None:
    shot = make_shot(
        guides=[
            GuideFrame(image="/g/first.png", frame="first"),
            GuideFrame(image="/g/mid.png", timestamp=1.2345),
            GuideFrame(image="/g/any.png"),
        ],
        options=TaskOptions(number_results=3, output_format="MOV", output_quality=80),
    )
    settings = APISettings(
        ttl=3600,
        include_cost=True,
        webhook_url="https://h.example.test/w",
        upload_endpoint="https://b.example.test/put",
        safety_mode="fast",
    )
    task_uuid = str(uuid.uuid4())
    images = [IMAGE_UUID, "https://im.example.test/mid.png", VIDEO_UUID]
    api = build_task(
        shot, video=VIDEO_UUID, frame_images=images, task_uuid=task_uuid, settings=settings
    ).to_api()
    assert api == {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": "runway:aleph@2.0",
        "positivePrompt": "Remove the boom mic.",
        "inputs": {
            "video": VIDEO_UUID,
            "frameImages": [
                {"image": IMAGE_UUID, "frame": "first"},
                {"image": "https://im.example.test/mid.png", "timestamp": 1.23},
                VIDEO_UUID,
            ],
        },
        "outputType": "URL",
        "outputFormat": "MOV",
        "outputQuality": 80,
        "numberResults": 3,
        "deliveryMethod": "async",
        "includeCost": True,
        "ttl": 3600,
        "webhookURL": "https://h.example.test/w",
        "uploadEndpoint": "https://b.example.test/put",
        "safety": {"mode": "fast"},
    }


def test_build_task_minimal_has_no_frame_images_or_delivery_extras() -> None:
    api = build_task(
        make_shot(),
        video="https://m.example.test/c.mp4",
        frame_images=[],
        task_uuid=TASK_UUID,
        settings=APISettings(include_cost=False),
    ).to_api()
    assert "frameImages" not in api["inputs"]
    assert api["includeCost"] is False
    assert not {"ttl", "webhookURL", "uploadEndpoint", "safety"} & api.keys()


def test_build_task_error_names_shot_marker_and_field() -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_task(
            make_shot(prompt="z" * 1200),
            video=VIDEO_UUID,
            frame_images=[],
            task_uuid=TASK_UUID,
            settings=APISettings(),
        )
    message = str(info.value)
    assert info.value.parameter == "positivePrompt"
    assert "sh010 A010C004" in message and "01:00:00:10" in message and "positivePrompt" in message


def test_build_task_refuses_guide_beyond_30s() -> None:
    shot = make_shot(guides=[GuideFrame(image="/g/a.png", timestamp=31.0)])
    with pytest.raises(InvalidParameterError) as info:
        build_task(
            shot,
            video=VIDEO_UUID,
            frame_images=[IMAGE_UUID],
            task_uuid=TASK_UUID,
            settings=APISettings(),
        )
    assert info.value.parameter == "inputs.frameImages[0].timestamp"


def test_build_task_requires_one_image_per_guide() -> None:
    shot = make_shot(guides=[GuideFrame(image="/g/a.png", frame="last")])
    with pytest.raises(ValueError, match="1 guides"):
        build_task(
            shot, video=VIDEO_UUID, frame_images=[], task_uuid=TASK_UUID, settings=APISettings()
        )
