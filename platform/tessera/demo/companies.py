"""Company names in Chinese and English, with valid unified social credit codes.

Chinese names follow the registry's shape 行政区划 + 字号 + 行业 + 组织形式 (苏州恒瑞精密机械有限公司),
branches of groups the 字号 + 行业 + （城市） form; foreign-invested companies in China have English
names with the city in brackets and a Chinese credit code; companies abroad have none.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from .places import ABROAD, CITIES, City

#: 字号 (trade names) with pinyin, for names and web domains
CORES: tuple[tuple[str, str], ...] = (
    ("恒瑞", "hengrui"), ("华泰", "huatai"), ("鼎盛", "dingsheng"), ("金桥", "jinqiao"), ("中诚", "zhongcheng"),
    ("瑞康", "ruikang"), ("新源", "xinyuan"), ("天合", "tianhe"), ("博远", "boyuan"), ("汇通", "huitong"),
    ("宏达", "hongda"), ("安捷", "anjie"), ("永鑫", "yongxin"), ("精工", "jinggong"), ("海纳", "haina"),
    ("嘉禾", "jiahe"), ("润丰", "runfeng"), ("同创", "tongchuang"), ("远航", "yuanhang"), ("正源", "zhengyuan"),
    ("蓝海", "lanhai"), ("启明", "qiming"), ("科迈", "kemai"), ("凯捷", "kaijie"), ("华昇", "huasheng"),
    ("信达", "xinda"), ("盛世", "shengshi"), ("东方", "dongfang"), ("联创", "lianchuang"), ("宇通", "yutong"),
    ("德福", "defu"), ("三和", "sanhe"), ("万成", "wancheng"), ("亿丰", "yifeng"), ("泰和", "taihe"),
    ("中科", "zhongke"), ("金石", "jinshi"), ("银河", "yinhe"), ("长风", "changfeng"), ("明德", "mingde"),
    ("晨光", "chenguang"), ("卓越", "zhuoyue"), ("恒通", "hengtong"), ("佳禾", "jiahe"), ("澳华", "aohua"),
    ("浩天", "haotian"), ("鑫源", "xinyuan"), ("立信", "lixin"), ("广益", "guangyi"), ("奥特", "aote"),
)

#: industry → (Chinese business words with abbreviations, weight)
INDUSTRY_WORDS: dict[str, tuple[tuple[str, str], ...]] = {
    "manufacturing": (("精密机械", "jm"), ("汽车零部件", "auto"), ("电子科技", "tech"), ("新材料", "nm"),
                      ("智能装备", "ie"), ("模具", "mould"), ("电机", "motor"), ("化工", "chem"), ("食品", "food")),
    "energy": (("新能源", "ne"), ("电力工程", "power"), ("热电", "thermal"), ("光伏科技", "pv"), ("燃气", "gas")),
    "healthcare": (("医疗器械", "med"), ("生物医药", "bio"), ("制药", "pharma")),
    "logistics": (("物流", "logistics"), ("冷链物流", "coldchain"), ("供应链管理", "scm")),
    "construction": (("建设工程", "build"), ("建筑科技", "bt"), ("市政工程", "mce")),
    "retail": (("商贸", "trade"), ("连锁超市", "mart")),
    "software": (("信息技术", "it"), ("软件", "soft")),
    "services": (("物业管理", "pm"), ("环保科技", "env"), ("水务", "water")),
}
INDUSTRY_WEIGHTS = {"manufacturing": 40, "energy": 14, "healthcare": 8, "logistics": 9, "construction": 7,
                    "retail": 4, "software": 5, "services": 8, "government": 3, "education": 2}

#: public buyers (government, education): name patterns with the city's short name
INSTITUTIONS = {"government": ("{city}水务局", "{city}生态环境监测中心", "{city}高新区管委会", "{city}应急管理局"),
                "education": ("{city}职业技术学院", "{city}理工大学", "{city}第一中学")}

ENGLISH_CORES = ("Bluepeak", "Northwind", "Crestline", "Summit", "Evergreen", "Apex", "Harborview", "Silverline",
                 "Ironbridge", "Lakeside", "Redwood", "Pacific Rim", "Meridian", "Keystone", "Brightwater")
ENGLISH_WORDS = {"manufacturing": ("Precision Components", "Automotive Systems", "Electronics", "Packaging"),
                 "energy": ("Energy", "Solar Solutions"), "healthcare": ("Medical Devices",),
                 "logistics": ("Logistics", "Cold Chain"), "retail": ("Foods", "Trading"),
                 "services": ("Facility Services",), "construction": ("Engineering",), "software": ("Data Systems",)}
#: when the plain Chinese names run out (large demos), a qualifier joins the trade name
CHINESE_QUALIFIERS = ("智能", "科技", "实业", "新材料", "发展", "国际", "精密", "环保")
#: when the plain English names run out (large demos), firms get a division: "Apex Asia Pacific Foods"
ENGLISH_DIVISIONS = ("Asia Pacific", "International", "Holdings", "Industrial", "Technology", "Global",
                     "Greater China", "Advanced")
ABROAD_SUFFIX = {"Singapore": "Pte. Ltd.", "Munich": "GmbH", "Houston": "Inc.", "Kuala Lumpur": "Sdn. Bhd.",
                 "Ho Chi Minh City": "Co., Ltd."}

COMPANY_TYPES = ("有限责任公司（自然人投资或控股）", "股份有限公司（非上市、自然人投资或控股）",
                 "有限责任公司（外商投资、非独资）", "有限责任公司（法人独资）")

#: the characters of a unified social credit code and the weights of its check character
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check(first17: str) -> str:
    """The 18th character of a unified social credit code (GB 32100-2015)."""
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def org_code(body: str) -> str:
    """An 8-digit organisation code with its check character (GB 11714)."""
    check = 11 - sum(int(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(rng: random.Random, city: City, kind: str = "91") -> str:
    """A valid 18-character unified social credit code registered in ``city``."""
    first17 = kind + city.division + org_code(f"{rng.randrange(10 ** 8):08d}")
    return first17 + uscc_check(first17)


@dataclass
class Company:
    """A generated company; ``english`` names have no Chinese credit code when abroad."""

    name: str
    short_name: str
    industry: str
    city: City
    domain: str
    english: bool = False
    credit_code: str | None = None
    size: str = "medium"
    extra: dict[str, str] = field(default_factory=dict)


class CompanyFactory:
    """Makes distinct companies: no name or credit code is handed out twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: set[str] = set()
        self.codes: set[str] = set()

    def chinese(self, city: City | None = None, industry: str | None = None, core: tuple[str, str] | None = None,
                group: str | None = None) -> Company:
        rng = self.rng
        for attempt in itertools.count():
            place = city or rng.choice(CITIES)
            kind = industry or rng.choices(list(INDUSTRY_WEIGHTS), weights=list(INDUSTRY_WEIGHTS.values()))[0]
            if kind in INSTITUTIONS and attempt >= 20:
                kind = "services"  # every public body of the cities is taken: a company serves instead
            if kind in INSTITUTIONS:
                short = place.city.removesuffix("市")
                name = rng.choice(INSTITUTIONS[kind]).format(city=short)
                company = Company(name, name, kind, place, f"{_ascii(place.city_en)}.gov.cn" if kind == "government"
                                  else f"{_ascii(place.city_en)}-edu.cn", size="large")
                kind_code = "12"  # public institutions register with code 12
            else:
                trade, trade_py = core or rng.choice(CORES)
                if attempt >= 200:  # the plain names are taken (large demos): 苏州恒达智能机械有限公司
                    trade += _qualifier(CHINESE_QUALIFIERS, attempt, 200)
                word, abbr = rng.choice(INDUSTRY_WORDS[kind])
                short_city = place.city.removesuffix("市")
                if group:
                    name = f"{trade}{word}（{short_city}）有限公司"
                else:
                    name = rng.choice((f"{short_city}{trade}{word}有限公司", f"{short_city}{trade}{word}股份有限公司",
                                       f"{place.province.removesuffix('省').removesuffix('市')}{trade}{word}有限公司"))
                company = Company(name, f"{trade}{word[:2]}", kind, place,
                                  f"{trade_py}-{abbr}.{rng.choice(('com', 'com.cn', 'cn'))}",
                                  size=rng.choices(("small", "medium", "large", "enterprise"), (3, 5, 3, 1))[0])
                kind_code = "91"
            if company.name in self.names:
                continue
            company.credit_code = self._code(place, kind_code)
            self.names.add(company.name)
            return company

    def group_parent(self) -> tuple[Company, tuple[str, str]]:
        """A group holding company (集团) and its trade name, for a tree of subsidiaries."""
        for attempt in itertools.count():
            trade, trade_py = self.rng.choice(CORES)
            if attempt >= 50:  # the plain names are taken (large demos): 恒达智能控股集团有限公司
                trade += _qualifier(CHINESE_QUALIFIERS, attempt, 50)
            name = f"{trade}{self.rng.choice(('控股集团', '实业集团', '集团'))}有限公司"
            if name not in self.names:
                break
        place = self.rng.choice(CITIES)
        self.names.add(name)
        company = Company(name, f"{trade}集团", "manufacturing", place, f"{trade_py}-group.com",
                          credit_code=self._code(place, "91"), size="enterprise")
        return company, (trade, trade_py)

    def foreign(self, in_china: bool) -> Company:
        """An English-named customer: foreign-invested in China (Chinese credit code) or abroad."""
        rng = self.rng
        for attempt in itertools.count():
            industry = rng.choice(list(ENGLISH_WORDS))
            core, word = rng.choice(ENGLISH_CORES), rng.choice(ENGLISH_WORDS[industry])
            if attempt >= 50:  # the plain names are taken (large demos): a division of the firm
                core = f"{core} {_qualifier(ENGLISH_DIVISIONS, attempt, 50)}"
            if in_china:
                place = rng.choice(_FOREIGN_IN_CHINA)
                name = f"{core} {word} ({place.city_en}) Co., Ltd."
            else:
                place = rng.choice(ABROAD)
                name = f"{core} {word} {ABROAD_SUFFIX[place.city]}"
            if name not in self.names:
                break
        self.names.add(name)
        domain = f"{_ascii(core)}-{_ascii(word.split()[0])}.com"
        return Company(name, f"{core} {word.split()[0]}", industry, place, domain, english=True,
                       credit_code=self._code(place, "91") if in_china else None,
                       size=rng.choice(("medium", "large", "enterprise")))

    def _code(self, city: City, kind: str) -> str:
        while True:
            code = credit_code(self.rng, city, kind)
            if code not in self.codes:
                self.codes.add(code)
                return code


def _qualifier(words: tuple[str, ...], attempt: int, every: int) -> str:
    """After each ``every`` failed attempts at a distinct name, the next qualifier to add; once
    all are used, the qualifiers again with a number, so names never run out."""
    round_ = attempt // every - 1
    word = words[round_ % len(words)]
    return word if round_ < len(words) else f"{word}{round_ // len(words) + 1}"


_FOREIGN_IN_CHINA = [c for c in CITIES if c.region in ("east", "south")]


def _ascii(text: str) -> str:
    return "".join(c for c in text.lower() if c.isascii() and c.isalnum())
