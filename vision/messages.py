"""Human messages for every machine reason code, in Simplified Chinese and English.

The reason codes are part of the contract with the app (they end up in events and API answers):
add codes freely, never rename one.
"""

from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, dict[str, str]]] = {
    # image decoding
    "image_too_large": {
        "zh-CN": "照片文件太大（上限 15 MB），请重新拍摄。",
        "en": "The photo file is too large (limit 15 MB). Please take it again.",
    },
    "image_too_many_pixels": {
        "zh-CN": "照片分辨率过高，无法处理。",
        "en": "The photo has too many pixels to process.",
    },
    "image_corrupt": {
        "zh-CN": "照片已损坏或格式不受支持，请重新拍摄。",
        "en": "The photo is damaged or in an unsupported format. Please take it again.",
    },
    "image_empty": {
        "zh-CN": "没有收到照片数据。",
        "en": "No photo data was received.",
    },
    # selfie quality
    "no_face": {
        "zh-CN": "照片中没有检测到人脸，请正对镜头重新拍摄。",
        "en": "No face was found. Please face the camera and try again.",
    },
    "several_faces": {
        "zh-CN": "照片中有多张人脸，请单独拍摄。",
        "en": "More than one face is in the photo. Please take it alone.",
    },
    "face_too_small": {
        "zh-CN": "人脸太小，请靠近镜头。",
        "en": "The face is too small. Please move closer to the camera.",
    },
    "face_blurred": {
        "zh-CN": "照片模糊，请保持稳定后重新拍摄。",
        "en": "The photo is blurred. Please hold still and try again.",
    },
    "spoof_suspected": {
        "zh-CN": "照片像是翻拍的照片或屏幕，请本人正对镜头，或刷工牌签到。",
        "en": "This looks like a photo of a photo or a screen. Please face the camera "
        "yourself, or check in with your badge.",
    },
    "spoof_at_enrolment": {
        "zh-CN": "这张自拍像是翻拍的照片或屏幕，请本人正对镜头重新拍摄。",
        "en": "This selfie looks like a photo of a photo or a screen. Please face the camera "
        "yourself and take it again.",
    },
    "inconsistent_selfies": {
        "zh-CN": "几张自拍不像同一个人，请重新登记。",
        "en": "The selfies do not look like the same person. Please enrol again.",
    },
    "too_many_selfies": {
        "zh-CN": "登记最多使用 5 张自拍。",
        "en": "Enrolment takes at most 5 selfies.",
    },
    "no_consent": {
        "zh-CN": "未记录人脸识别同意书，不能登记人脸。",
        "en": "No recorded consent for face recognition: the face cannot be enrolled.",
    },
    # matching
    "match": {"zh-CN": "人脸核验通过。", "en": "Face verified."},
    "unsure": {
        "zh-CN": "无法确认身份，请刷工牌。",
        "en": "Not sure who this is. Please use your badge.",
    },
    "no_match": {
        "zh-CN": "人脸与登记信息不符，请刷工牌。",
        "en": "The face does not match the enrolled person. Please use your badge.",
    },
    "not_enrolled": {
        "zh-CN": "尚未登记人脸，请刷工牌。",
        "en": "No face is enrolled for this person. Please use your badge.",
    },
    # running
    "timeout": {"zh-CN": "照片分析超时。", "en": "Photo analysis timed out."},
    "worker_crashed": {
        "zh-CN": "照片分析进程异常退出，已自动恢复。",
        "en": "The photo analysis process stopped unexpectedly and was restarted.",
    },
    "job_failed": {"zh-CN": "照片分析失败。", "en": "Photo analysis failed."},
    "worker_unavailable": {
        "zh-CN": "照片分析服务无法启动，请联系管理员。",
        "en": "The photo analysis service cannot start. Please contact the administrator.",
    },
    "template_unreadable": {
        "zh-CN": "人脸模板无法读取，请重新登记。",
        "en": "The stored face template cannot be read. Please enrol again.",
    },
    "busy": {
        "zh-CN": "照片分析队列已满，请稍后重试。",
        "en": "Photo analysis is busy. Please try again shortly.",
    },
}

LOCALES: Final[tuple[str, ...]] = ("zh-CN", "en")


def message(reason: str, locale: str = "zh-CN") -> str:
    """The human message for ``reason`` in ``locale`` (``zh-CN`` or ``en``).

    Unknown locales fall back to zh-CN; unknown reasons to the generic failure text.
    """
    texts = MESSAGES.get(reason, MESSAGES["job_failed"])
    return texts.get(locale, texts["zh-CN"])
