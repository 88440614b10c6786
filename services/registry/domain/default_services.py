"""The catalogue a new installation starts from: the common services for persons with disabilities.

One entry per (service, need) for every need code of the home-visit vocabulary but ``other``; the
departments are the usual ones of a district (the demo registers them). Seeding enters an entry whose
department is not registered under the federation, which coordinates referrals and can change it.
"""

from __future__ import annotations

from services.registry.domain.service_catalogue import ServiceValues

FALLBACK_DEPARTMENT = "federation"

DEFAULT_SERVICES: dict[str, ServiceValues] = {
    "basic_rehabilitation": ServiceValues("基本康复服务", "Basic rehabilitation service", "rehabilitation",
                                          "protection", "health", 90),
    "assistive_devices": ServiceValues("辅助器具适配", "Assistive device fitting", "assistive_devices",
                                       "protection", "federation", 60),
    "home_accessibility": ServiceValues("家庭无障碍改造", "Home accessibility adaptation", "barrier_free",
                                        "protection", "housing", 180),
    "care_services": ServiceValues("托养照护服务", "Residential and day care (托养)", "care_services",
                                   "protection", "civil_affairs", 90),
    "disability_subsidies": ServiceValues("残疾人两项补贴", "Living and nursing subsidies", "living_subsidy",
                                          "protection", "civil_affairs", 30),
    "social_assistance_referral": ServiceValues("社会救助转介", "Social assistance referral", "social_security",
                                                "protection", "civil_affairs", 30),
    "medical_insurance_subsidy": ServiceValues("医疗保险参保资助", "Medical insurance premium subsidy", "medical",
                                               "protection", "medical_security", 60),
    "family_doctor": ServiceValues("家庭医生签约服务", "Family doctor contract", "medical",
                                   "protection", "health", 30),
    "education_support": ServiceValues("教育支持(送教上门、助学)", "Education support", "education",
                                       "protection", "education", 90),
    "legal_aid": ServiceValues("法律援助", "Legal aid", "legal_aid", "protection", "justice", 30),
    "culture_sports": ServiceValues("文化体育服务", "Culture and sport services", "culture_sports",
                                    "protection", "federation", 180),
    "housing_safety": ServiceValues("农村危房改造", "Housing safety renovation", "housing",
                                    "protection", "housing", 180),
    "employment_support": ServiceValues("就业帮扶", "Employment help", "employment", "income", "hrss", 120),
    "skills_training": ServiceValues("职业技能培训", "Vocational skills training", "employment",
                                     "income", "hrss", 180),
}
"""Default entries by service code (need → service → part → department → default days)."""
