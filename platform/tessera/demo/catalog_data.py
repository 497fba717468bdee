"""The demo company's catalogue as data: units, and ~40 products across every product type.

星辰智控 (Xingchen Smart Control) sells industrial IoT: sensors, controllers and gateways
(physical goods, many with variants), solution kits with installation (goods + service), its
cloud platform (subscriptions), metered services (usage) and implementation projects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

#: (code, name, symbol, unit type, decimal places)
UNITS: tuple[tuple[str, str, str, str, int], ...] = (
    ("pcs", "个", "pcs", "count", 0), ("set", "台", "set", "count", 0), ("kit", "套", "kit", "count", 0),
    ("box", "箱", "box", "count", 0), ("card", "张", "card", "count", 0), ("m", "米", "m", "length", 1),
    ("roll", "卷", "roll", "length", 0), ("year", "年", "yr", "time", 0), ("month", "月", "mo", "time", 0),
    ("day", "天", "day", "time", 1), ("person_day", "人天", "p·d", "service", 1),
    ("visit", "次", "visit", "service", 0), ("project", "项", "proj", "service", 0),
    ("device_year", "台·年", "dev·yr", "service", 0), ("user_year", "用户·年", "user·yr", "service", 0),
    ("sms_1k", "千条", "1k msg", "data", 0), ("api_10k", "万次", "10k calls", "data", 0),
    ("gb_month", "GB·月", "GB·mo", "data", 1), ("gb", "GB", "GB", "data", 1),
)


@dataclass(frozen=True)
class Attribute:
    """A variant attribute: code, name, and values (code, name, price added)."""

    code: str
    name: str
    values: tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class ProductData:
    code: str
    name: str
    product_type: str  # physical | goods_service | subscription | usage | project
    category: str
    unit: str
    price: int  # standard list price in CNY (per unit, before variant adjustments)
    cost: int
    tax: int = 13
    model: str = ""
    spec: str = ""
    billing: str | None = None  # subscription/usage billing period
    attributes: tuple[Attribute, ...] = ()
    warranty: int | None = None
    conversions: tuple[tuple[str, int], ...] = ()  # (unit code, factor) alternative units
    status: str = "on_sale"
    description: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_bundle(self) -> bool:
        return self.code.startswith("XC-BDL")


def _attr(code: str, name: str, *values: tuple[str, str, int]) -> Attribute:
    return Attribute(code, name, tuple(values))


SENSORS, CONTROL, NETWORK, METERS, TERMINALS, PARTS = "传感器", "控制器", "网关与通信", "仪表", "工控终端", "配件"
KITS, CLOUD, USAGE, PROJECTS = "解决方案套装", "云平台", "用量服务", "项目实施"

PRODUCTS: tuple[ProductData, ...] = (
    # physical goods
    ProductData("XC-TH100", "温湿度传感器 TH100", "physical", SENSORS, "pcs", 680, 260, model="TH100",
                spec="RS485 / Modbus RTU, IP65", warranty=24, conversions=(("box", 20),),
                attributes=(_attr("range", "量程", ("std", "标准 -20~60℃", 0), ("wide", "宽温 -40~85℃", 120)),
                            _attr("housing", "外壳颜色", ("white", "白色", 0), ("grey", "灰色", 0))),
                description="Temperature & humidity sensor for workshops, warehouses and cold rooms."),
    ProductData("XC-TH90", "温湿度传感器 TH90（停产）", "physical", SENSORS, "pcs", 520, 240, model="TH90",
                status="discontinued", description="Replaced by TH100."),
    ProductData("XC-PT300", "压力变送器 PT300", "physical", SENSORS, "pcs", 1450, 610, model="PT300",
                spec="4–20 mA, 0.25 % FS", warranty=24,
                attributes=(_attr("range", "量程", ("1mpa", "0~1 MPa", 0), ("10mpa", "0~10 MPa", 200),
                                  ("40mpa", "0~40 MPa", 480)),)),
    ProductData("XC-VS200", "无线振动传感器 VS200", "physical", SENSORS, "pcs", 2380, 1050, model="VS200",
                spec="3-axis, LoRa, 5-year battery", warranty=24),
    ProductData("XC-GD20", "可燃气体探测器 GD20", "physical", SENSORS, "pcs", 1180, 470, model="GD20",
                attributes=(_attr("gas", "检测气体", ("ch4", "甲烷 CH4", 0), ("h2", "氢气 H2", 160),
                                  ("c3h8", "丙烷 C3H8", 0)),)),
    ProductData("XC-FM500", "电磁流量计 FM500", "physical", METERS, "set", 8600, 3900, model="FM500", warranty=18,
                attributes=(_attr("dn", "口径", ("dn25", "DN25", 0), ("dn50", "DN50", 1800), ("dn100", "DN100", 5200)),)),
    ProductData("XC-EM3", "智能电表 EM3", "physical", METERS, "set", 960, 380, model="EM3",
                attributes=(_attr("phase", "相数", ("single", "单相", 0), ("three", "三相", 540)),)),
    ProductData("XC-PLC1200", "PLC 控制器 PLC1200", "physical", CONTROL, "set", 6800, 3100, model="PLC1200",
                warranty=36, attributes=(_attr("io", "I/O 点数", ("io16", "16 点", 0), ("io32", "32 点", 1600),
                                               ("io64", "64 点", 3900)),)),
    ProductData("XC-EG500", "边缘计算网关 EG500", "physical", NETWORK, "set", 4980, 2200, model="EG500",
                spec="4 × Ethernet, RS485 × 2, Docker edge apps", warranty=36,
                attributes=(_attr("net", "通信方式", ("lte", "4G LTE", 0), ("nr", "5G", 1200), ("wifi", "Wi-Fi 6", -300)),)),
    ProductData("XC-IS8", "工业以太网交换机 IS8", "physical", NETWORK, "set", 2150, 940, model="IS8",
                attributes=(_attr("ports", "端口数", ("p8", "8 口", 0), ("p16", "16 口", 1350)),)),
    ProductData("XC-DTU30", "4G DTU 数据传输终端 DTU30", "physical", NETWORK, "pcs", 890, 360, model="DTU30",
                conversions=(("box", 10),)),
    ProductData("XC-SIM", "物联网卡（含首年流量）", "physical", NETWORK, "card", 25, 9, model="IoT SIM"),
    ProductData("XC-IPC15", "工业平板电脑 IPC15", "physical", TERMINALS, "set", 7900, 4100, model="IPC15",
                attributes=(_attr("screen", "屏幕尺寸", ("s156", "15.6 英寸", 0), ("s215", "21.5 英寸", 2400)),)),
    ProductData("XC-HMI7", "HMI 触摸屏 HMI7", "physical", TERMINALS, "set", 2600, 1150, model="HMI7",
                attributes=(_attr("screen", "屏幕尺寸", ("s7", "7 英寸", 0), ("s10", "10.1 英寸", 900)),)),
    ProductData("XC-CAM5", "工业相机 CAM5", "physical", TERMINALS, "set", 5600, 2600, model="CAM5",
                attributes=(_attr("res", "分辨率", ("mp5", "500 万像素", 0), ("mp12", "1200 万像素", 3800)),)),
    ProductData("XC-RF10", "RFID 读写器 RF10", "physical", TERMINALS, "set", 3200, 1400, model="RF10"),
    ProductData("XC-CB800", "智能控制柜 CB800", "physical", PARTS, "set", 12800, 6900, model="CB800",
                spec="800 × 600 × 2000 mm, IP54"),
    ProductData("XC-RVVP", "屏蔽电缆 RVVP 4×1.0", "physical", PARTS, "m", 7, 3, model="RVVP",
                conversions=(("roll", 100),)),
    ProductData("XC-UPS1K", "工业 UPS 电源 1kVA", "physical", PARTS, "set", 3900, 2100, model="UPS1K"),
    ProductData("XC-BDL-STARTER", "智慧工厂入门套装", "physical", KITS, "kit", 49800, 23000, model="Starter",
                description="Gateway, sensors and a year of the cloud platform, configured to order."),
    # goods + service
    ProductData("XC-KIT-ENERGY", "能耗监测套装（含安装）", "goods_service", KITS, "kit", 28000, 14500),
    ProductData("XC-KIT-COLD", "冷链温度监测套装（含安装）", "goods_service", KITS, "kit", 16500, 8200),
    ProductData("XC-KIT-PDM", "设备预测性维护套装（含安装调试）", "goods_service", KITS, "kit", 45000, 21000),
    ProductData("XC-SVC-ONSITE", "现场安装调试服务", "goods_service", KITS, "person_day", 2400, 900, tax=6),
    ProductData("XC-SVC-REPAIR", "设备维修服务（按次）", "goods_service", KITS, "visit", 1800, 700, tax=6),
    # subscriptions
    ProductData("XC-CLOUD-STD", "星辰云平台 标准版", "subscription", CLOUD, "year", 36000, 9000, tax=6, billing="yearly"),
    ProductData("XC-CLOUD-PRO", "星辰云平台 专业版", "subscription", CLOUD, "year", 68000, 15000, tax=6, billing="yearly"),
    ProductData("XC-CLOUD-ENT", "星辰云平台 企业版", "subscription", CLOUD, "year", 128000, 26000, tax=6, billing="yearly"),
    ProductData("XC-LIC-DEVICE", "设备接入许可", "subscription", CLOUD, "device_year", 120, 20, tax=6, billing="yearly"),
    ProductData("XC-LIC-APP", "移动 App 用户许可", "subscription", CLOUD, "user_year", 480, 60, tax=6, billing="yearly"),
    ProductData("XC-SAAS-MON", "远程监控 SaaS（月付）", "subscription", CLOUD, "month", 2800, 700, tax=6, billing="monthly"),
    ProductData("XC-MAINT-YEAR", "年度维保服务", "subscription", CLOUD, "year", 18000, 7000, tax=6, billing="quarterly"),
    # usage
    ProductData("XC-USG-SMS", "告警短信", "usage", USAGE, "sms_1k", 45, 20, tax=6, billing="monthly"),
    ProductData("XC-USG-API", "开放 API 调用", "usage", USAGE, "api_10k", 30, 6, tax=6, billing="monthly"),
    ProductData("XC-USG-STORE", "历史数据存储", "usage", USAGE, "gb_month", 1, 0, tax=6, billing="monthly"),
    ProductData("XC-USG-4G", "物联网流量", "usage", USAGE, "gb", 5, 2, tax=6, billing="monthly"),
    # projects
    ProductData("XC-PRJ-MES", "MES 系统实施", "project", PROJECTS, "project", 380000, 190000, tax=6),
    ProductData("XC-PRJ-EMS", "能源管理系统建设", "project", PROJECTS, "project", 260000, 140000, tax=9),
    ProductData("XC-PRJ-TWIN", "数字孪生工厂项目", "project", PROJECTS, "project", 650000, 330000, tax=6),
    ProductData("XC-PRJ-DEV", "定制集成开发", "project", PROJECTS, "person_day", 2800, 1200, tax=6),
    ProductData("XC-PRJ-TRAIN", "现场培训", "project", PROJECTS, "day", 6000, 2000, tax=6, status="draft"),
)

#: which products sell together (the product mix of a deal), by the customer's industry
MIXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "hardware": (("XC-TH100", "XC-EG500", "XC-LIC-DEVICE"), ("XC-PT300", "XC-FM500", "XC-EG500"),
                 ("XC-VS200", "XC-EG500", "XC-CLOUD-STD"), ("XC-EM3", "XC-DTU30", "XC-SIM"),
                 ("XC-PLC1200", "XC-HMI7", "XC-IS8", "XC-RVVP"), ("XC-GD20", "XC-DTU30", "XC-USG-SMS"),
                 ("XC-CAM5", "XC-IPC15", "XC-SVC-ONSITE"), ("XC-RF10", "XC-IS8", "XC-CB800", "XC-UPS1K"),
                 ("XC-BDL-STARTER", "XC-TH100")),
    "solution": (("XC-KIT-ENERGY", "XC-EM3", "XC-CLOUD-STD"), ("XC-KIT-COLD", "XC-TH100", "XC-SAAS-MON"),
                 ("XC-KIT-PDM", "XC-VS200", "XC-MAINT-YEAR"), ("XC-SVC-REPAIR", "XC-MAINT-YEAR")),
    "platform": (("XC-CLOUD-PRO", "XC-LIC-DEVICE", "XC-LIC-APP"), ("XC-CLOUD-ENT", "XC-LIC-DEVICE", "XC-USG-API"),
                 ("XC-CLOUD-STD", "XC-USG-STORE", "XC-USG-4G"), ("XC-SAAS-MON", "XC-USG-SMS")),
    "project": (("XC-PRJ-MES", "XC-PRJ-DEV", "XC-EG500"), ("XC-PRJ-EMS", "XC-EM3", "XC-CLOUD-STD"),
                ("XC-PRJ-TWIN", "XC-CLOUD-ENT", "XC-VS200"), ("XC-PRJ-DEV", "XC-SVC-ONSITE")),
}

#: (code, name EN, symbol, rate to CNY at the start of history, monthly drift)
CURRENCIES: tuple[tuple[str, str, str, Decimal], ...] = (
    ("CNY", "人民币 Chinese Yuan", "¥", Decimal(1)),
    ("USD", "美元 US Dollar", "$", Decimal("7.1850")),
    ("EUR", "欧元 Euro", "€", Decimal("7.8120")),
    ("HKD", "港币 Hong Kong Dollar", "HK$", Decimal("0.9195")),
)

UNIT_PRICE = Decimal("0.01")


def money(value: Decimal | float) -> Decimal:
    """Rounded to cents, half up."""
    from decimal import ROUND_HALF_UP

    return Decimal(str(value)).quantize(UNIT_PRICE, rounding=ROUND_HALF_UP)
