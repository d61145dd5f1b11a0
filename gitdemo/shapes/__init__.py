"""The Shapes world (``/work/shared/SHAPES_WORLD.md``): `world` draws scenes and clips, `tasks`
holds the rules of the tasks on them. The names of the old `gitdemo.shapes` module stay here."""
from .tasks import (
    QUESTION_KINDS,
    detect_answer,
    detect_label_matches,
    detect_labels,
    iou,
    loc_token,
    match_detections,
    question_kind,
    sample_detect,
    sample_question,
)
from .world import (
    COLOURS,
    DIRECTIONS,
    FPS,
    IMAGE_SIZE,
    MAX_SIZE,
    MAX_TRAVEL,
    MIN_GAP,
    MIN_SIZE,
    MIN_TRAVEL,
    N_FRAMES,
    NOISE_SIGMA,
    SHAPES,
    Scene,
    ShapeObject,
    VideoClip,
    draw_scene,
    draw_video,
    write_dataset,
    write_video,
)

__all__ = ["COLOURS", "SHAPES", "DIRECTIONS", "IMAGE_SIZE", "QUESTION_KINDS", "N_FRAMES", "FPS",
           "ShapeObject", "Scene", "VideoClip", "draw_scene", "draw_video", "sample_question", "question_kind",
           "write_video", "write_dataset", "loc_token", "detect_label_matches", "detect_answer", "detect_labels",
           "sample_detect", "iou", "match_detections", "MIN_SIZE", "MAX_SIZE", "MIN_GAP", "MIN_TRAVEL", "MAX_TRAVEL",
           "NOISE_SIGMA"]
