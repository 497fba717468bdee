"""Bilingual name pools for people: Chinese names with their pinyin (for e-mail addresses),
English names for customers abroad, job titles, and valid phone numbers.

Chinese mobile numbers are 11 digits starting 1[3-9] (shown as ``+86 138 1234 5678``); the
lead and contact ``mobile_format`` rules accept them with or without the country code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .places import City

#: common surnames, weighted by frequency (char, pinyin, weight)
SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 10), ("李", "li", 10), ("张", "zhang", 9), ("刘", "liu", 7), ("陈", "chen", 7),
    ("杨", "yang", 5), ("黄", "huang", 4), ("赵", "zhao", 4), ("吴", "wu", 4), ("周", "zhou", 4),
    ("徐", "xu", 3), ("孙", "sun", 3), ("马", "ma", 3), ("朱", "zhu", 3), ("胡", "hu", 3),
    ("郭", "guo", 2), ("何", "he", 2), ("林", "lin", 2), ("罗", "luo", 2), ("高", "gao", 2),
    ("郑", "zheng", 2), ("梁", "liang", 2), ("谢", "xie", 2), ("宋", "song", 2), ("唐", "tang", 2),
    ("许", "xu", 1), ("韩", "han", 1), ("冯", "feng", 1), ("邓", "deng", 1), ("曹", "cao", 1),
    ("彭", "peng", 1), ("曾", "zeng", 1), ("萧", "xiao", 1), ("田", "tian", 1), ("董", "dong", 1),
    ("潘", "pan", 1), ("袁", "yuan", 1), ("蔡", "cai", 1), ("蒋", "jiang", 1), ("余", "yu", 1),
    ("欧阳", "ouyang", 1), ("司马", "sima", 1),
)

MALE_GIVEN: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("勇", "yong"), ("杰", "jie"),
    ("涛", "tao"), ("斌", "bin"), ("浩", "hao"), ("鹏", "peng"), ("宇", "yu"), ("明", "ming"),
    ("超", "chao"), ("亮", "liang"), ("健", "jian"), ("峰", "feng"), ("建国", "jianguo"),
    ("志刚", "zhigang"), ("海洋", "haiyang"), ("俊杰", "junjie"), ("子轩", "zixuan"), ("宏伟", "hongwei"),
    ("文博", "wenbo"), ("晓东", "xiaodong"), ("国华", "guohua"), ("立新", "lixin"), ("永康", "yongkang"),
    ("振华", "zhenhua"), ("家豪", "jiahao"), ("天宇", "tianyu"), ("建华", "jianhua"), ("德明", "deming"),
)

FEMALE_GIVEN: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("燕", "yan"),
    ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("慧", "hui"), ("颖", "ying"), ("倩", "qian"),
    ("玲", "ling"), ("欣", "xin"), ("晓燕", "xiaoyan"), ("丽华", "lihua"), ("佳怡", "jiayi"),
    ("雨涵", "yuhan"), ("秀英", "xiuying"), ("梦琪", "mengqi"), ("思雨", "siyu"), ("文静", "wenjing"),
    ("海燕", "haiyan"), ("春梅", "chunmei"), ("美玲", "meiling"), ("晓雯", "xiaowen"), ("嘉欣", "jiaxin"),
)

ENGLISH_MALE = ("James", "Michael", "Robert", "David", "Daniel", "Thomas", "Mark", "Kevin", "Brian",
                "Lukas", "Stefan", "Rajesh", "Ahmad", "Minh", "Peter", "Andrew", "Jason", "Eric")
ENGLISH_FEMALE = ("Sarah", "Jennifer", "Emma", "Olivia", "Sophie", "Anna", "Laura", "Priya", "Mei Ling",
                  "Siti", "Linh", "Rachel", "Grace", "Hannah", "Julia", "Claire")
ENGLISH_SURNAMES = ("Smith", "Johnson", "Brown", "Miller", "Wilson", "Taylor", "Anderson", "Müller",
                    "Schmidt", "Wagner", "Tan", "Lim", "Ng", "Nguyen", "Tran", "Kumar", "Rahman",
                    "Lee", "Wong", "Garcia", "Martin", "Clarke", "Becker", "Ong")

#: (Chinese title, English title, decision role, influence, department in Chinese and English)
TITLES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("总经理", "General Manager", "decision_maker", "high", "总经办", "Management"),
    ("副总经理", "Deputy General Manager", "decision_maker", "high", "总经办", "Management"),
    ("厂长", "Plant Director", "decision_maker", "high", "生产部", "Operations"),
    ("技术总监", "Technical Director", "technical_gatekeeper", "high", "技术部", "Engineering"),
    ("信息中心主任", "Head of IT", "technical_gatekeeper", "high", "信息中心", "IT"),
    ("设备部经理", "Maintenance Manager", "key_user", "medium", "设备部", "Maintenance"),
    ("生产部经理", "Production Manager", "key_user", "medium", "生产部", "Operations"),
    ("采购经理", "Procurement Manager", "influencer", "medium", "采购部", "Procurement"),
    ("采购专员", "Purchasing Specialist", "influencer", "low", "采购部", "Procurement"),
    ("自动化工程师", "Automation Engineer", "key_user", "low", "设备部", "Engineering"),
    ("能源管理工程师", "Energy Engineer", "coach", "low", "能源管理部", "Energy"),
    ("IT 主管", "IT Supervisor", "technical_gatekeeper", "medium", "信息中心", "IT"),
    ("财务经理", "Finance Manager", "influencer", "medium", "财务部", "Finance"),
    ("项目经理", "Project Manager", "coach", "medium", "项目部", "Projects"),
)

#: mobile number segments in use (first three digits)
MOBILE_SEGMENTS = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "147", "150", "151",
                   "152", "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177",
                   "178", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199")

#: city abroad -> (country code, office area code, local digits, mobile format: digits after the code)
ABROAD_PHONE = {"Singapore": ("+65", "", 8, "{d8}"), "Munich": ("+49", "89", 7, "15{d1} {d8}"),
                "Houston": ("+1", "713", 7, "832 {d3} {d4}"), "Kuala Lumpur": ("+60", "3", 8, "1{d1}-{d3} {d4}"),
                "Ho Chi Minh City": ("+84", "28", 8, "9{d1} {d3} {d4}")}


@dataclass(frozen=True)
class Person:
    """A generated person: ``name`` as shown, ``login`` the ASCII part of an e-mail address."""

    name: str
    login: str
    gender: str  # male | female
    chinese: bool


def chinese_person(rng: random.Random) -> Person:
    surname, surname_py, _ = rng.choices(SURNAMES, weights=[w for *_, w in SURNAMES])[0]
    gender = rng.choice(("male", "female"))
    given, given_py = rng.choice(MALE_GIVEN if gender == "male" else FEMALE_GIVEN)
    style = rng.random()
    login = (f"{given_py}.{surname_py}" if style < 0.4 else f"{surname_py}{given_py}" if style < 0.8
             else f"{surname_py}.{given_py}{rng.randint(1, 99)}")
    return Person(surname + given, login, gender, True)


def english_person(rng: random.Random) -> Person:
    gender = rng.choice(("male", "female"))
    first = rng.choice(ENGLISH_MALE if gender == "male" else ENGLISH_FEMALE)
    last = rng.choice(ENGLISH_SURNAMES)
    login = f"{first.split()[0]}.{last}".lower().replace("ü", "ue")
    return Person(f"{first} {last}", login, gender, False)


def mobile(rng: random.Random) -> str:
    """A Chinese mobile number, e.g. ``+86 138 1234 5678``."""
    digits = rng.choice(MOBILE_SEGMENTS) + f"{rng.randrange(10 ** 8):08d}"
    return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"


def landline(rng: random.Random, city: City) -> str:
    """An office number: ``0512-6688 1234`` in China, the country's format abroad."""
    if city.area_code:
        width = 8 if len(city.area_code) == 3 else rng.choice((7, 8))
        number = f"{rng.choice('2345678')}{rng.randrange(10 ** (width - 1)):0{width - 1}d}"
        return f"{city.area_code}-{number[:4]} {number[4:]}"
    country, area, width, _ = ABROAD_PHONE.get(city.city, ABROAD_PHONE["Singapore"])
    number = f"{rng.choice('2345689')}{rng.randrange(10 ** (width - 1)):0{width - 1}d}"
    split = 3 if width == 7 else 4
    return " ".join(part for part in (country, area, number[:split], number[split:]) if part)


def foreign_mobile(rng: random.Random, city: City) -> str:
    """A mobile number in the country of ``city`` (E.164 with spaces)."""
    country, _, _, pattern = ABROAD_PHONE.get(city.city, ABROAD_PHONE["Singapore"])
    digits = {f"d{n}": f"{rng.randrange(10 ** n):0{n}d}" for n in (1, 3, 4)}
    digits["d8"] = f"{rng.choice('89')}{rng.randrange(10 ** 7):07d}"
    return f"{country} {pattern.format(**digits)}"


def title(rng: random.Random, chinese: bool, role: str | None = None) -> tuple[str, str, str, str]:
    """(title, decision role, influence, department), optionally of a given decision role."""
    pool = [t for t in TITLES if role is None or t[2] == role] or list(TITLES)
    zh, en, decision_role, influence, department_zh, department_en = rng.choice(pool)
    return (zh if chinese else en), decision_role, influence, (department_zh if chinese else department_en)
