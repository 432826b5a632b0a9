"""Chinese names, place names and street addresses, drawn column-wise.

Surname frequencies approximate the rankings published for Zhejiang and Jiangsu (王、陈、张、李、
徐、周、吴 lead; 沈、钱、俞、金、施 are common locally). Given names are one or two characters from
lists typical of each sex. None of it refers to a real person.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_SURNAMES = [
    "王7.2",
    "陈6.8",
    "张5.0",
    "李4.5",
    "徐3.6",
    "周3.2",
    "吴3.1",
    "刘2.8",
    "黄2.2",
    "杨2.2",
    "朱2.1",
    "胡2.0",
    "沈1.9",
    "金1.8",
    "钱1.5",
    "孙1.5",
    "俞1.2",
    "何1.4",
    "郑1.3",
    "方1.2",
    "叶1.2",
    "许1.2",
    "赵1.2",
    "蒋1.1",
    "潘1.0",
    "施1.0",
    "邵0.9",
    "汪0.9",
    "姚0.9",
    "陆0.9",
    "章0.8",
    "马0.8",
    "高0.8",
    "顾0.8",
    "丁0.7",
    "韩0.6",
    "唐0.6",
    "曹0.6",
    "袁0.6",
    "冯0.6",
    "董0.6",
    "程0.6",
    "谢0.6",
    "罗0.5",
    "宋0.5",
    "蔡0.5",
    "范0.5",
    "戴0.5",
    "梁0.4",
    "应0.4",
    "葛0.4",
    "魏0.4",
    "邱0.4",
    "杜0.4",
    "夏0.4",
    "任0.4",
    "姜0.4",
    "毛0.4",
    "卢0.4",
    "傅0.4",
    "楼0.3",
    "钟0.3",
    "田0.3",
    "严0.3",
    "洪0.3",
    "江0.3",
    "陶0.3",
    "单0.2",
    "翁0.2",
    "骆0.2",
    "欧阳0.05",
    "诸葛0.02",
]
SURNAMES = tuple(s.rstrip("0123456789.") for s in _SURNAMES)
SURNAME_WEIGHTS = np.array([float(s.lstrip("".join(SURNAMES[i]))) for i, s in enumerate(_SURNAMES)])
SURNAME_WEIGHTS = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()

MALE_CHARS = tuple(
    "伟强磊军勇杰涛明超斌华建国平刚辉鹏浩宇俊晨博文志海峰林东波良荣德福祥金根兴龙天子轩睿泽航一凯"
    "成立新永春家忠民庆红耀炳鑫昊然哲豪毅"
)
FEMALE_CHARS = tuple(
    "芳娟敏静丽艳秀英霞燕玲萍红梅琴云莉兰凤洁婷雪慧颖佳怡欣雨萱诗梦思琳妍晴悦瑶彤美月珍桂琪丹蓉"
    "菊华素洁萍玉"
)
_PLACE_SYLLABLES = tuple(
    "东西南北江湖山河新安和平长春文明华泰兴隆丰明光阳星月桥塘湾浦沿港园林竹梅兰松溪滨龙凤青云宁"
    "金银海天水城乐康福庆德仁信义永盛昌茂"
)
_ROAD_SUFFIX = ("路", "街", "大道", "巷")


def _sample(rng: np.random.Generator, table: tuple[str, ...], n: int) -> pa.Array:
    return pa.array(table).take(pa.array(rng.integers(0, len(table), size=n)))


def person_names(rng: np.random.Generator, male: npt.NDArray[np.bool_]) -> pa.Array:
    """One name per element of ``male``: surname + one or two sex-typical characters."""
    n = len(male)
    surname = pa.array(SURNAMES).take(pa.array(rng.choice(len(SURNAMES), n, p=SURNAME_WEIGHTS)))
    m1, m2 = _sample(rng, MALE_CHARS, n), _sample(rng, MALE_CHARS, n)
    f1, f2 = _sample(rng, FEMALE_CHARS, n), _sample(rng, FEMALE_CHARS, n)
    mask = pa.array(male)
    first = pc.if_else(mask, m1, f1)
    second = pc.if_else(mask, m2, f2)
    single = pa.array(rng.random(n) < 0.22)
    second = pc.if_else(single, pa.scalar(""), second)
    return pc.binary_join_element_wise(surname, first, second, "")


def misspell(rng: np.random.Generator, names: pa.Array) -> pa.Array:
    """Change the last character of each name (a typing or homophone error in another system)."""
    n = len(names)
    stem = pc.utf8_slice_codeunits(names, 0, -1)
    last = pc.utf8_slice_codeunits(names, -1)
    pool = MALE_CHARS + FEMALE_CHARS
    repl = _sample(rng, pool, n)
    same = pc.equal(repl, last)
    alt = _sample(rng, ("伟", "芳", "明", "丽"), n)
    repl = pc.if_else(pc.and_(same, pc.not_equal(alt, last)), alt, repl)
    repl = pc.if_else(pc.equal(repl, last), pa.scalar("文"), repl)
    return pc.binary_join_element_wise(stem, repl, "")


def place_names(rng: np.random.Generator, n: int, suffix: str) -> list[str]:
    """``n`` distinct two-syllable place names ending in ``suffix`` (社区, 村, 街道, 镇)."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        a, b = rng.integers(0, len(_PLACE_SYLLABLES), size=2)
        name = _PLACE_SYLLABLES[a] + _PLACE_SYLLABLES[b] + suffix
        if a != b and name not in seen:
            seen.add(name)
            out.append(name)
    return out


def street_addresses(rng: np.random.Generator, prefixes: pa.Array) -> pa.Array:
    """Append a road, house number and flat to each community address prefix."""
    n = len(prefixes)
    a = _sample(rng, _PLACE_SYLLABLES, n)
    b = _sample(rng, _PLACE_SYLLABLES, n)
    suffix = _sample(rng, _ROAD_SUFFIX, n)
    number = pc.cast(pa.array(rng.integers(1, 400, size=n)), pa.string())
    building = pc.cast(pa.array(rng.integers(1, 30, size=n)), pa.string())
    flat = pc.cast(
        pa.array(rng.integers(1, 25, size=n) * 100 + rng.integers(1, 5, size=n)), pa.string()
    )
    return pc.binary_join_element_wise(
        prefixes, a, b, suffix, number, "号", building, "幢", flat, "室", ""
    )


def phone_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """Mainland mobile numbers: 1, a carrier digit (3/5/7/8/9), nine more digits."""
    second = np.array([3, 5, 7, 8, 9])[rng.integers(0, 5, size=n)]
    rest = rng.integers(0, 1_000_000_000, size=n)
    values = 10_000_000_000 + second * 1_000_000_000 + rest
    return pc.cast(pa.array(values), pa.string())
