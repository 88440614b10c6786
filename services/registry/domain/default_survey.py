"""Version 1 of the yearly survey form, built in: every installation has it without an admin.

Modelled on the national yearly survey of certificate holders' basic status and needs
(残疾人基本状况和需求调查): housing, schooling, work, social security, assistance, care, services
received in the past year and still needed, and the seed's three questions. Later versions are
drafted and published by an admin (``survey_form``); this one never changes.
"""

from __future__ import annotations

from shared.catalogue.surveys import (
    DEFAULT_SURVEY_FORM_ID,
    AnswerType,
    SkipRule,
    SurveyItem,
    SurveyOption,
    SurveySection,
)

FIRST_YEAR = 2024
"""The year version 1 applies from (and to every earlier year, there being none before it)."""
TITLE_ZH = "残疾人基本状况和需求年度调查表"
TITLE_EN = "Yearly survey of basic status and needs"
SEED_QUESTIONS = ("what_they_need", "what_they_can_do", "what_we_can_do")
"""The seed's three questions: the only answers of a visit recorded without a form (the old body)."""


def _options(*pairs: tuple[str, str, str]) -> list[SurveyOption]:
    return [SurveyOption(code=code, label_zh=zh, label_en=en) for code, zh, en in pairs]


def _item(code: str, zh: str, en: str, answer_type: AnswerType, *options: tuple[str, str, str],
          required: bool = False, show_if: tuple[str, list[str]] | None = None, needs_code: str | None = None,
          max_length: int | None = None) -> SurveyItem:
    return SurveyItem(code=code, label_zh=zh, label_en=en, answer_type=answer_type, options=_options(*options),
                      required=required, max_length=max_length, needs_code=needs_code,
                      show_if=SkipRule(item=show_if[0], any_of=show_if[1]) if show_if else None)


def _need(code: str, zh: str, en: str, need: str) -> SurveyItem:
    return _item(f"need_{code}", zh, en, "yesno", required=True, needs_code=need)


YES = ["yes"]
NO = ["no"]

SECTIONS: tuple[SurveySection, ...] = (
    SurveySection(code="housing", label_zh="住房", label_en="Housing", items=[
        _item("housing_status", "住房情况", "Housing", "choice",
              ("own", "自有住房", "own home"), ("rented", "租房", "rented"),
              ("relatives", "借住亲友家", "with relatives or friends"),
              ("public", "公租房、廉租房", "public housing"), ("institution", "住在机构", "in an institution"),
              ("none", "无固定住所", "no fixed home"), required=True),
        _item("household_size", "共同生活的家庭人口数", "People living in the household", "number"),
        _item("dilapidated_housing", "是否居住在农村危房", "Living in dilapidated rural housing (危房)?", "yesno",
              required=True),
        _item("dilapidated_renovated", "危房是否已纳入改造", "Is the dilapidated house in a renovation programme?",
              "yesno", show_if=("dilapidated_housing", YES)),
    ]),
    SurveySection(code="schooling", label_zh="教育", label_en="Schooling", items=[
        _item("schooling", "受教育程度", "Education completed", "choice",
              ("none", "未上过学", "none"), ("primary", "小学", "primary"), ("junior", "初中", "junior secondary"),
              ("senior", "高中", "senior secondary"), ("vocational", "中专、职高", "vocational"),
              ("college", "大专及以上", "college or higher"), required=True),
        _item("school_attendance", "适龄儿童少年在学情况", "School attendance (children of school age)", "choice",
              ("not_school_age", "非义务教育适龄", "not of compulsory school age"),
              ("in_school", "在校就读", "at school"), ("home_teaching", "送教上门", "taught at home"),
              ("out_of_school", "未入学或辍学", "not at school"), required=True),
    ]),
    SurveySection(code="employment", label_zh="就业", label_en="Work", items=[
        _item("employment_status", "就业状况", "Work", "choice",
              ("employed", "单位就业（含按比例就业）", "employed"), ("self_employed", "个体经营", "self-employed"),
              ("farming", "农业生产", "farming"), ("flexible", "灵活就业", "casual work"),
              ("unemployed", "有劳动能力未就业", "able to work, without work"),
              ("unable", "无劳动能力", "unable to work"),
              ("retired", "已退休或超过劳动年龄", "retired or past working age"),
              required=True),
        _item("wants_job_help", "是否需要就业帮扶", "Does the person want help to find work?", "yesno",
              show_if=("employment_status", ["unemployed", "flexible"]), required=True),
        _item("job_help_kind", "需要哪些就业帮扶", "Which help to find work", "multi",
              ("skills_training", "职业技能培训", "skills training"), ("job_referral", "岗位推荐", "job referral"),
              ("self_employment", "创业扶持", "support to start a business"),
              ("sheltered_work", "辅助性就业", "sheltered work"), ("other", "其他", "other"),
              show_if=("wants_job_help", YES), required=True),
    ]),
    SurveySection(code="social_security", label_zh="社会保障", label_en="Social security", items=[
        _item("basic_pension", "基本养老保险", "Basic pension insurance", "choice",
              ("resident", "参加城乡居民养老保险", "rural and urban residents' scheme"),
              ("employee", "参加职工养老保险", "employees' scheme"), ("drawing", "已领取养老金", "drawing a pension"),
              ("none", "未参保", "not insured"), required=True),
        _item("pension_subsidy", "是否享受政府代缴养老保险费", "Premium paid by the government (代缴)?", "yesno",
              show_if=("basic_pension", ["resident"])),
        _item("medical_insurance", "基本医疗保险", "Basic medical insurance", "choice",
              ("resident", "参加城乡居民医疗保险", "residents' scheme"),
              ("employee", "参加职工医疗保险", "employees' scheme"),
              ("none", "未参保", "not insured"), required=True),
        _item("medical_subsidy", "是否享受医疗保险个人缴费资助", "Personal premium subsidised?", "yesno",
              show_if=("medical_insurance", ["resident"])),
        _item("social_assistance", "享受的社会救助", "Social assistance received", "multi",
              ("subsistence_allowance", "最低生活保障（低保）", "subsistence allowance (低保)"),
              ("extreme_poverty", "特困人员救助供养（特困）", "support for the extremely poor (特困)"),
              ("temporary", "临时救助", "temporary assistance"), ("none", "无", "none"), required=True),
        _item("disability_allowances", "享受的残疾人两项补贴", "Disability allowances received", "multi",
              ("living", "困难残疾人生活补贴", "living allowance"), ("care", "重度残疾人护理补贴", "care allowance"),
              ("none", "无", "none"), required=True),
    ]),
    SurveySection(code="care", label_zh="照护与养老", label_en="Care and old age", items=[
        _item("care_arrangement", "目前的照护方式", "Care today", "choice",
              ("self_care", "生活自理", "looks after themselves"), ("family", "家庭照护", "family"),
              ("day_care", "日间照料", "day care"), ("residential", "寄宿制托养或机构", "residential care"),
              required=True),
        _item("care_service_need", "托养服务需求", "Need for day or residential care (托养)", "choice",
              ("none", "不需要", "none"), ("day_care", "日间照料", "day care"),
              ("residential", "寄宿制托养", "residential care"), ("home_care", "居家托养", "care at home"),
              required=True),
        _item("elderly_care_status", "养老状况（60岁及以上）", "Old-age care (60 and over)", "choice",
              ("under_60", "未满60岁", "under 60"), ("home", "居家养老", "at home"),
              ("community", "社区养老", "community"), ("institution", "机构养老", "in an institution"),
              required=True),
        _item("elderly_care_need", "是否需要养老服务", "Needs old-age care services?", "yesno",
              show_if=("elderly_care_status", ["home", "community", "institution"]), required=True),
        _item("elderly_parents_carers", "是否以老养残（年满60岁的父母照护残疾子女）",
              "Cared for by parents aged 60 or more (以老养残)?", "yesno", required=True),
        _item("family_doctor", "是否签约家庭医生", "Has a family-doctor contract?", "yesno", required=True),
    ]),
    SurveySection(code="services_received", label_zh="过去一年得到的服务",
                  label_en="Services received in the past year", items=[
        _item("received_rehabilitation", "是否得到康复服务", "Received rehabilitation?", "yesno", required=True),
        _item("last_rehabilitation_on", "最近一次康复服务日期", "Date of the last rehabilitation service", "date",
              show_if=("received_rehabilitation", YES)),
        _item("no_rehabilitation_reason", "未得到康复服务的主要原因", "Main reason rehabilitation was not received",
              "choice", ("not_needed", "不需要", "not needed"), ("cost", "费用高", "cost"),
              ("distance", "距离远、交通不便", "too far"), ("no_service", "当地没有服务", "no service nearby"),
              ("unaware", "不了解政策", "did not know about it"), ("other", "其他", "other"),
              show_if=("received_rehabilitation", NO), required=True),
        _item("services_received", "得到的其他服务", "Other services received", "multi",
              ("assistive_devices", "辅助器具", "assistive devices"), ("education", "教育", "education"),
              ("employment", "就业服务", "employment services"), ("care", "托养照护", "care"),
              ("barrier_free", "家庭无障碍改造", "home accessibility adaptation"),
              ("culture_sports", "文化体育", "culture and sport"), ("none", "无", "none"), required=True),
    ]),
    SurveySection(code="services_needed", label_zh="仍需要的服务", label_en="Services still needed", items=[
        _need("rehabilitation", "需要康复服务", "Needs rehabilitation", "rehabilitation"),
        _need("assistive_devices", "需要辅助器具", "Needs assistive devices", "assistive_devices"),
        _need("education", "需要教育服务", "Needs education", "education"),
        _need("employment", "需要就业服务", "Needs employment services", "employment"),
        _need("care", "需要托养照护服务", "Needs care services", "care_services"),
        _need("barrier_free", "需要家庭无障碍改造", "Needs home accessibility adaptation (无障碍改造)", "barrier_free"),
        _need("culture_sports", "需要文化体育服务", "Needs culture and sport", "culture_sports"),
        _need("living_subsidy", "需要生活救助或补贴", "Needs living assistance", "living_subsidy"),
        _need("housing", "需要住房保障或危房改造", "Needs housing help", "housing"),
    ]),
    SurveySection(code="open_questions", label_zh="开放式问题", label_en="Open questions", items=[
        _item("what_they_need", "他们需要什么", "What do they need?", "text", max_length=2000),
        _item("what_they_can_do", "他们自己能做什么", "What can they do themselves?", "text", max_length=2000),
        _item("what_we_can_do", "我们能为他们做什么", "What can we do for them?", "text", max_length=2000),
    ]),
)
"""The sections of version 1, in the order they are asked."""

FORM_ID = DEFAULT_SURVEY_FORM_ID
