"""Coded values of the register: hardship flags, needs, visit modes."""

from __future__ import annotations

HARDSHIP_FLAGS: dict[str, str] = {
    "subsistence_allowance": "低保",
    "extreme_poverty": "特困",
    "low_income": "低收入",
    "living_alone": "独居",
    "elderly_carer": "老养残",
    "unspecified": "困境(未细分)",
}

NEEDS: dict[str, str] = {
    "rehabilitation": "康复服务",
    "assistive_devices": "辅助器具",
    "education": "教育",
    "employment": "就业和技能培训",
    "living_subsidy": "生活补贴",
    "care_services": "托养照护",
    "barrier_free": "无障碍改造",
    "medical": "医疗",
    "legal_aid": "法律援助",
    "culture_sports": "文化体育",
    "social_security": "社会保障",
    "housing": "住房",
    "other": "其他",
}

VISIT_MODES: dict[str, str] = {
    "home": "入户",
    "face_to_face": "当面(户外)",
    "phone": "电话",
    "lost_to_follow_up": "失访",
}


def unknown_codes(values: list[str], vocabulary: dict[str, str]) -> list[str]:
    """Codes in ``values`` that the vocabulary does not define."""
    return [v for v in values if v not in vocabulary]
