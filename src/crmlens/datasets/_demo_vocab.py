"""Word lists and templates of the demo retailer "Lotus & Pine": names, places, products, texts.

Kept apart from the generator so the generator reads as the statistical model it is. Every list is
small and fixed: the generator samples from it with a seeded numpy Generator.
"""

from __future__ import annotations

# Surnames with their reading (fixed, so polyphonic surnames such as 单 or 曾 read as names do) and a
# rough frequency weight.
SURNAMES: list[tuple[str, str, float]] = [
    ("王", "Wang", 7.1),
    ("李", "Li", 7.0),
    ("张", "Zhang", 6.8),
    ("刘", "Liu", 5.4),
    ("陈", "Chen", 4.6),
    ("杨", "Yang", 3.1),
    ("黄", "Huang", 2.4),
    ("赵", "Zhao", 2.3),
    ("吴", "Wu", 2.0),
    ("周", "Zhou", 1.9),
    ("徐", "Xu", 1.4),
    ("孙", "Sun", 1.3),
    ("马", "Ma", 1.2),
    ("朱", "Zhu", 1.1),
    ("胡", "Hu", 1.0),
    ("郭", "Guo", 1.0),
    ("何", "He", 0.9),
    ("林", "Lin", 0.9),
    ("罗", "Luo", 0.8),
    ("高", "Gao", 0.8),
    ("郑", "Zheng", 0.7),
    ("梁", "Liang", 0.7),
    ("谢", "Xie", 0.6),
    ("宋", "Song", 0.6),
    ("唐", "Tang", 0.6),
    ("许", "Xu", 0.5),
    ("韩", "Han", 0.5),
    ("冯", "Feng", 0.5),
    ("邓", "Deng", 0.5),
    ("曹", "Cao", 0.4),
    ("彭", "Peng", 0.4),
    ("曾", "Zeng", 0.4),
    ("肖", "Xiao", 0.4),
    ("田", "Tian", 0.3),
    ("董", "Dong", 0.3),
    ("潘", "Pan", 0.3),
    ("袁", "Yuan", 0.3),
    ("蔡", "Cai", 0.3),
    ("蒋", "Jiang", 0.3),
    ("余", "Yu", 0.3),
]

# Characters used in given names (read with pypinyin at generation time).
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红建文辉力鹏宇浩然欣怡佳琪子涵思雨晨阳梓轩一诺雪梅"
    "婷晓燕俊峰志宏丹凯亮琳颖斌瑶"
)

ENGLISH_GIVEN = [
    "Emily",
    "Kevin",
    "Grace",
    "Jason",
    "Vivian",
    "Eric",
    "Cindy",
    "Tony",
    "Amy",
    "David",
    "Linda",
    "Jack",
    "Helen",
    "Leo",
    "Iris",
    "Sam",
    "Coco",
    "Ryan",
    "Nina",
    "Max",
]

EMAIL_DOMAINS = [
    "qq.com",
    "163.com",
    "126.com",
    "gmail.com",
    "outlook.com",
    "sina.com",
    "foxmail.com",
    "hotmail.com",
]

MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "177",
    "180",
    "181",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
]

# City, its district names, and a weight (bigger cities have more customers).
CITIES: list[tuple[str, list[str], float]] = [
    ("上海", ["浦东新区", "徐汇区", "静安区", "闵行区"], 9.0),
    ("北京", ["朝阳区", "海淀区", "东城区", "丰台区"], 8.5),
    ("广州", ["天河区", "越秀区", "海珠区"], 6.0),
    ("深圳", ["南山区", "福田区", "宝安区"], 6.0),
    ("杭州", ["西湖区", "滨江区", "余杭区"], 5.0),
    ("成都", ["锦江区", "武侯区", "高新区"], 4.5),
    ("南京", ["鼓楼区", "玄武区", "江宁区"], 3.5),
    ("武汉", ["洪山区", "江汉区", "武昌区"], 3.5),
    ("西安", ["雁塔区", "碑林区"], 3.0),
    ("苏州", ["姑苏区", "工业园区"], 3.0),
    ("重庆", ["渝中区", "江北区"], 3.0),
    ("天津", ["和平区", "南开区"], 2.5),
    ("长沙", ["岳麓区", "天心区"], 2.0),
    ("厦门", ["思明区", "湖里区"], 1.5),
    ("青岛", ["市南区", "崂山区"], 1.5),
    ("昆明", ["五华区", "盘龙区"], 1.0),
]
STREETS = [
    "中山路",
    "人民路",
    "解放路",
    "建设路",
    "和平路",
    "长江路",
    "黄河路",
    "南京路",
    "文化路",
    "新华路",
    "科技路",
    "滨江大道",
    "学府路",
    "东风路",
    "青年路",
]

CATEGORIES = ["tea", "snacks", "kitchenware", "apparel", "electronics", "beauty"]

# Per category: (Chinese name, English words, base price); each becomes two size/colour variants.
PRODUCTS: dict[str, list[tuple[str, str, float]]] = {
    "tea": [
        ("西湖龙井绿茶", "West Lake Longjing green tea", 128),
        ("安溪铁观音", "Anxi Tieguanyin oolong", 98),
        ("云南普洱熟茶饼", "Yunnan Pu-erh tea cake", 168),
        ("福鼎白茶", "Fuding white tea", 138),
        ("正山小种红茶", "Lapsang Souchong black tea", 88),
        ("茉莉花茶", "jasmine tea", 48),
        ("武夷大红袍", "Wuyi Da Hong Pao rock tea", 198),
        ("碧螺春", "Biluochun green tea", 118),
        ("桂花乌龙茶包", "osmanthus oolong tea bags", 39),
        ("菊花枸杞养生茶", "chrysanthemum goji herbal tea", 36),
    ],
    "snacks": [
        ("手撕牛肉干", "hand-torn beef jerky", 59),
        ("每日坚果礼盒", "daily mixed nuts box", 79),
        ("麻辣小龙虾味薯片", "spicy crayfish potato chips", 15),
        ("芒果干", "dried mango", 25),
        ("凤梨酥", "pineapple cakes", 45),
        ("蛋黄酥", "egg yolk pastry", 39),
        ("辣条大礼包", "spicy gluten strips", 19),
        ("海苔脆片", "crispy seaweed", 22),
        ("黑芝麻丸", "black sesame balls", 35),
        ("桂圆红枣", "longan and red dates", 29),
    ],
    "kitchenware": [
        ("不粘炒锅", "non-stick wok", 239),
        ("陶瓷茶具套装", "ceramic tea set", 299),
        ("304不锈钢保温杯", "stainless steel vacuum flask", 89),
        ("竹制砧板", "bamboo cutting board", 59),
        ("电饭煲", "rice cooker", 399),
        ("玻璃保鲜盒", "glass food containers", 69),
        ("铸铁砂锅", "cast iron casserole", 259),
        ("厨房刀具套装", "kitchen knife set", 189),
        ("手冲咖啡壶", "pour-over coffee kettle", 129),
        ("硅胶锅铲", "silicone spatula", 25),
    ],
    "apparel": [
        ("纯棉T恤", "cotton T-shirt", 79),
        ("羽绒服", "down jacket", 599),
        ("真丝围巾", "silk scarf", 199),
        ("运动卫衣", "sports hoodie", 159),
        ("牛仔裤", "denim jeans", 229),
        ("亚麻衬衫", "linen shirt", 189),
        ("羊毛袜三双装", "wool socks three pack", 49),
        ("防晒衣", "sun protection jacket", 129),
        ("帆布鞋", "canvas shoes", 149),
        ("针织开衫", "knit cardigan", 219),
    ],
    "electronics": [
        ("无线蓝牙耳机", "wireless Bluetooth earbuds", 299),
        ("20000毫安充电宝", "20000mAh power bank", 149),
        ("65W快充充电器", "65W fast charger", 99),
        ("Type-C数据线", "USB-C cable", 29),
        ("手机支架", "phone stand", 39),
        ("机械键盘", "mechanical keyboard", 399),
        ("无线鼠标", "wireless mouse", 89),
        ("智能手环", "smart band", 249),
        ("平板保护套", "tablet case", 69),
        ("便携蓝牙音箱", "portable Bluetooth speaker", 199),
    ],
    "beauty": [
        ("玻尿酸面膜", "hyaluronic acid sheet masks", 99),
        ("防晒霜SPF50", "sunscreen SPF50", 129),
        ("氨基酸洗面奶", "amino acid cleanser", 69),
        ("精华液", "serum", 329),
        ("口红", "lipstick", 239),
        ("护手霜礼盒", "hand cream gift set", 59),
        ("卸妆油", "cleansing oil", 139),
        ("眼霜", "eye cream", 279),
        ("洗发水", "shampoo", 79),
        ("香水小样套装", "perfume sample set", 159),
    ],
}
VARIANTS: dict[str, list[tuple[str, str, float]]] = {
    "tea": [("250g", "250 g", 1.0), ("500g礼盒", "500 g gift box", 1.8)],
    "snacks": [("标准装", "regular pack", 1.0), ("家庭装", "family pack", 1.7)],
    "kitchenware": [("经典款", "classic", 1.0), ("升级款", "premium", 1.45)],
    "apparel": [("黑色", "black", 1.0), ("米白色", "off-white", 1.05)],
    "electronics": [("标准版", "standard", 1.0), ("Pro版", "Pro", 1.5)],
    "beauty": [("标准装", "regular size", 1.0), ("旅行装", "travel size", 0.45)],
}

ASPECTS = ["delivery", "price", "quality", "service"]
ASPECT_ZH = {"delivery": "物流", "price": "价格", "quality": "质量", "service": "服务"}

# Review sentences per (aspect, polarity, language); {item} is the product's name.
REVIEW_TEMPLATES: dict[tuple[str, str, str], list[str]] = {
    ("delivery", "pos", "zh"): [
        "物流很快，第二天就到了。",
        "快递速度超快，包装也很严实。",
        "物流发货及时，送货上门很方便。",
    ],
    ("delivery", "neu", "zh"): [
        "物流速度一般，四天才到。",
        "快递还行，不算快也不算慢。",
        "物流配送时间正常。",
    ],
    ("delivery", "neg", "zh"): [
        "物流太慢了，等了一个多星期！",
        "快递一直不更新，催了好几次才到。",
        "快递包装破损，送货太慢，很失望。",
    ],
    ("price", "pos", "zh"): [
        "价格实惠，性价比很高。",
        "活动价很划算，值得囤货。",
        "这个价钱买到这个品质，太值了。",
    ],
    ("price", "neu", "zh"): ["价格和别家差不多。", "价格中规中矩。", "不打折的时候有点贵，活动时还可以。"],
    ("price", "neg", "zh"): ["太贵了，不值这个价。", "刚买就降价，感觉被坑了。", "性价比很低，不会再买。"],
    ("quality", "pos", "zh"): [
        "{item}质量很好，做工精细。",
        "{item}品质不错，和描述一致。",
        "用了一段时间，{item}依然很好用。",
    ],
    ("quality", "neu", "zh"): [
        "{item}质量还可以，没有惊喜。",
        "{item}一般般，能用。",
        "{item}和图片有点差别，但能接受。",
    ],
    ("quality", "neg", "zh"): [
        "{item}质量很差，用了两天就坏了。",
        "{item}有瑕疵，做工粗糙。",
        "{item}和描述严重不符，很失望。",
    ],
    ("service", "pos", "zh"): [
        "客服态度很好，回复及时。",
        "售后服务很贴心，问题很快解决了。",
        "客服很耐心，推荐！",
    ],
    ("service", "neu", "zh"): ["客服回复有点慢，但问题解决了。", "服务一般。", "售后流程正常。"],
    ("service", "neg", "zh"): [
        "客服态度很差，问题一直没人管。",
        "售后推来推去，再也不买了。",
        "联系客服三天没回复，差评。",
    ],
    ("delivery", "pos", "en"): [
        "Delivery was fast, it arrived the next day.",
        "Quick shipping and well packed.",
        "Delivery arrived earlier than expected.",
    ],
    ("delivery", "neu", "en"): [
        "Delivery took about four days, which is okay.",
        "Shipping was average.",
        "Delivery arrived on time, nothing special.",
    ],
    ("delivery", "neg", "en"): [
        "Delivery was terribly slow, waited over a week!",
        "The parcel arrived late and damaged.",
        "Tracking never updated and the package came very late.",
    ],
    ("price", "pos", "en"): [
        "Great value for money.",
        "Good price during the sale, worth it.",
        "Cheap and good.",
    ],
    ("price", "neu", "en"): [
        "The price is about the same as elsewhere.",
        "Fair price, nothing more.",
        "A bit pricey without a discount.",
    ],
    ("price", "neg", "en"): [
        "Way too expensive for what it is.",
        "The price dropped right after I bought it.",
        "Overpriced, not buying again.",
    ],
    ("quality", "pos", "en"): [
        "The {item} is excellent quality.",
        "Really happy with the {item}, well made.",
        "The {item} works perfectly, as described.",
    ],
    ("quality", "neu", "en"): [
        "The {item} is okay, does the job.",
        "The {item} is average quality.",
        "The {item} looks a little different from the photos.",
    ],
    ("quality", "neg", "en"): [
        "The {item} broke after two days.",
        "Poor quality {item}, badly made.",
        "The {item} is nothing like the description, very disappointed.",
    ],
    ("service", "pos", "en"): [
        "Customer service was friendly and quick.",
        "Support solved my problem fast.",
        "Very helpful service team.",
    ],
    ("service", "neu", "en"): [
        "Customer service was slow but helpful in the end.",
        "Service was fine.",
        "The return process was standard.",
    ],
    ("service", "neg", "en"): [
        "Customer service was rude and useless.",
        "Nobody answered my complaint for days.",
        "Terrible after-sales service, never again.",
    ],
}

INTENTS = ["delivery_delay", "product_defect", "refund", "invoice", "change_address", "account_login"]

# Ticket (subject, body) per (intent, language); {order} is the order id, {item} the product's name.
TICKET_TEMPLATES: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("delivery_delay", "zh"): [
        ("订单还没发货", "我的订单{order}已经五天了还没发货，请问什么时候能发？"),
        ("快递一直不动", "订单{order}的物流信息三天没有更新了，麻烦帮忙查一下。"),
        ("催促配送", "买的{item}说好两天到，现在还没收到，订单号{order}。"),
    ],
    ("delivery_delay", "en"): [
        ("Where is my order?", "My order {order} has not shipped after five days. When will it ship?"),
        ("Package stuck in transit", "Tracking for order {order} has not moved for three days."),
        ("Late delivery", "The {item} was promised in two days but has not arrived. Order {order}."),
    ],
    ("product_defect", "zh"): [
        ("商品有质量问题", "收到的{item}有破损，订单{order}，请处理。"),
        ("收到的东西坏了", "{item}用了一次就坏了，希望换货。订单号{order}。"),
        ("做工有瑕疵", "{item}有明显瑕疵，和页面描述不符。"),
    ],
    ("product_defect", "en"): [
        ("Item arrived damaged", "The {item} from order {order} arrived broken. Please help."),
        ("Defective product", "My {item} stopped working after one day. I would like a replacement."),
        ("Quality issue", "The {item} has visible defects and does not match the description."),
    ],
    ("refund", "zh"): [
        ("申请退款", "订单{order}的{item}不想要了，申请退款。"),
        ("退款还没到账", "退款申请已经通过一周了，钱还没到账，订单{order}。"),
        ("要求退货退款", "{item}尺寸不合适，要求退货退款。"),
    ],
    ("refund", "en"): [
        ("Refund request", "I would like a refund for the {item} in order {order}."),
        (
            "Refund not received",
            "My refund for order {order} was approved a week ago but I have not received it.",
        ),
        ("Return and refund", "The {item} does not fit. Please arrange a return and refund."),
    ],
    ("invoice", "zh"): [
        ("开发票", "请帮忙为订单{order}开具增值税电子发票。"),
        ("发票抬头错误", "订单{order}的发票抬头写错了，需要重开。"),
        ("补开发票", "上个月的订单{order}忘记开发票了，能补开吗？"),
    ],
    ("invoice", "en"): [
        ("Invoice needed", "Please issue a VAT invoice for order {order}."),
        ("Wrong invoice details", "The company name on the invoice for order {order} is wrong."),
        ("Missing invoice", "I did not receive an invoice for order {order}."),
    ],
    ("change_address", "zh"): [
        ("修改收货地址", "订单{order}的收货地址填错了，麻烦改一下。"),
        ("更换配送地址", "我搬家了，订单{order}请送到新地址。"),
        ("地址写错了", "下单时地址写错了，订单{order}还没发货能改吗？"),
    ],
    ("change_address", "en"): [
        ("Change delivery address", "Please change the shipping address of order {order}."),
        ("Wrong address", "I entered the wrong address for order {order}. Can it still be changed?"),
        ("New address", "I moved; please deliver order {order} to my new address."),
    ],
    ("account_login", "zh"): [
        ("无法登录", "账号登录不上，一直提示密码错误。"),
        ("收不到验证码", "手机收不到登录验证码，怎么办？"),
        ("账号被锁定", "我的会员账号被锁定了，请帮忙解锁。"),
    ],
    ("account_login", "en"): [
        ("Cannot log in", "I cannot log in to my account, it keeps saying the password is wrong."),
        ("No verification code", "I do not receive the SMS verification code when logging in."),
        ("Account locked", "My member account has been locked. Please unlock it."),
    ],
}

# Appended to a ticket body to make it urgent: complaint, refund threat, fraud.
URGENT_SUFFIX = {
    "zh": [
        "再不处理我就要投诉了！",
        "如果今天不解决，我要求全额退款并投诉到消费者协会。",
        "怀疑账号被盗刷，有欺诈风险，请马上处理！",
    ],
    "en": [
        "If this is not fixed today I will file a complaint!",
        "I demand a full refund immediately.",
        "I suspect fraud on my account, please act now!",
    ],
}
