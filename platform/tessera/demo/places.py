"""Where the demo's customers are: Chinese cities by sales region, and a few abroad.

Each city carries its administrative division code (the 6 digits inside a unified social credit
code), its landline area code and coordinates (visits check in there).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class City:
    province: str
    city: str
    city_en: str
    region: str  # the sales region: east | south | north | overseas
    division: str  # administrative division code (GB/T 2260)
    area_code: str  # landline area code ("" abroad)
    latitude: Decimal
    longitude: Decimal
    district: str = ""

    @property
    def region_label(self) -> str:
        return REGION_LABELS[self.region]


REGION_LABELS = {"east": "华东", "south": "华南及西南", "north": "华北及东北", "overseas": "海外"}


def _c(province: str, city: str, en: str, region: str, division: str, area: str, lat: str, lon: str,
       district: str = "") -> City:
    return City(province, city, en, region, division, area, Decimal(lat), Decimal(lon), district)


CITIES: tuple[City, ...] = (
    _c("上海市", "上海市", "Shanghai", "east", "310115", "021", "31.230416", "121.473701", "浦东新区"),
    _c("江苏省", "苏州市", "Suzhou", "east", "320505", "0512", "31.298979", "120.585315", "高新区"),
    _c("江苏省", "南京市", "Nanjing", "east", "320114", "025", "32.060255", "118.796877", "雨花台区"),
    _c("江苏省", "无锡市", "Wuxi", "east", "320214", "0510", "31.490980", "120.312000", "新吴区"),
    _c("江苏省", "常州市", "Changzhou", "east", "320411", "0519", "31.810689", "119.974061", "新北区"),
    _c("浙江省", "杭州市", "Hangzhou", "east", "330108", "0571", "30.274084", "120.155070", "滨江区"),
    _c("浙江省", "宁波市", "Ningbo", "east", "330212", "0574", "29.868336", "121.543990", "鄞州区"),
    _c("安徽省", "合肥市", "Hefei", "east", "340104", "0551", "31.820587", "117.227239", "蜀山区"),
    _c("山东省", "青岛市", "Qingdao", "north", "370212", "0532", "36.067082", "120.382640", "崂山区"),
    _c("山东省", "济南市", "Jinan", "north", "370112", "0531", "36.651216", "117.120095", "历城区"),
    _c("北京市", "北京市", "Beijing", "north", "110108", "010", "39.904200", "116.407396", "海淀区"),
    _c("天津市", "天津市", "Tianjin", "north", "120116", "022", "39.084158", "117.200983", "滨海新区"),
    _c("河北省", "石家庄市", "Shijiazhuang", "north", "130104", "0311", "38.042307", "114.514860", "桥西区"),
    _c("辽宁省", "沈阳市", "Shenyang", "north", "210112", "024", "41.805698", "123.431474", "浑南区"),
    _c("广东省", "深圳市", "Shenzhen", "south", "440305", "0755", "22.543096", "114.057865", "南山区"),
    _c("广东省", "广州市", "Guangzhou", "south", "440106", "020", "23.129110", "113.264385", "天河区"),
    _c("广东省", "东莞市", "Dongguan", "south", "441900", "0769", "23.020536", "113.751765", "松山湖"),
    _c("广东省", "佛山市", "Foshan", "south", "440606", "0757", "23.021548", "113.121416", "顺德区"),
    _c("福建省", "厦门市", "Xiamen", "south", "350206", "0592", "24.479834", "118.089425", "湖里区"),
    _c("湖北省", "武汉市", "Wuhan", "south", "420111", "027", "30.592849", "114.305539", "洪山区"),
    _c("四川省", "成都市", "Chengdu", "south", "510107", "028", "30.572815", "104.066801", "武侯区"),
    _c("重庆市", "重庆市", "Chongqing", "south", "500112", "023", "29.563010", "106.551557", "渝北区"),
)

#: customers abroad (export business, quoted in USD)
ABROAD: tuple[City, ...] = (
    _c("Singapore", "Singapore", "Singapore", "overseas", "", "", "1.352083", "103.819836"),
    _c("Bavaria", "Munich", "Munich", "overseas", "", "", "48.135125", "11.581981"),
    _c("Texas", "Houston", "Houston", "overseas", "", "", "29.760427", "-95.369804"),
    _c("Selangor", "Kuala Lumpur", "Kuala Lumpur", "overseas", "", "", "3.139003", "101.686855"),
    _c("Ho Chi Minh", "Ho Chi Minh City", "Ho Chi Minh City", "overseas", "", "", "10.823099", "106.629664"),
)


def cities(region: str | None = None) -> list[City]:
    """Chinese cities of a region (all when None)."""
    return [c for c in CITIES if region is None or c.region == region]
