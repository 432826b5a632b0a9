"""The care-organisation tree, practitioners, family-doctor teams and service packages.

Per county: a health bureau (卫生健康局, the root), a CDC and two hospitals (人民医院, 中医院);
per township a community health service centre (街道) or township health centre (镇); per pair
of communities a station (社区卫生服务站), per village a village clinic (村卫生室). Teams are sized
so that each serves about ``panel_size`` residents of the generated population.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from manbing.domain.organisations import OrgType
from manbing.synth import tables
from manbing.synth.config import SynthConfig
from manbing.synth.divisions import EDITION, RegionTree
from manbing.synth.ids import uuids
from manbing.synth.names import person_names, phone_numbers

StrArray = npt.NDArray[np.object_]
_GP_TITLES = ("医师", "主治医师", "主治医师", "副主任医师")
_DEPARTMENTS = ("心血管内科", "内分泌科", "神经内科", "呼吸与危重症医学科", "全科医学科")


@dataclass(frozen=True)
class Registry:
    """Lookups the chunk generators need, indexed by community (position in ``tree.communities``)."""

    community_codes: StrArray
    community_weights: npt.NDArray[np.float64]
    community_address: StrArray
    community_county: npt.NDArray[np.int64]  # county code as int
    community_org: StrArray  # managing organisation (station / clinic / centre)
    community_centre: StrArray
    community_hospital: StrArray
    community_team_start: npt.NDArray[np.int64]
    community_team_count: npt.NDArray[np.int64]
    team_ids: StrArray
    team_leaders: StrArray  # the team's GP
    team_phw: StrArray  # the team's public-health worker
    hospital_specialists: dict[str, StrArray]
    package_ids: StrArray  # basic, elderly, hypertension, diabetes
    tables: dict[str, pa.Table]


def build_registry(config: SynthConfig, tree: RegionTree, stamp: datetime) -> Registry:
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([config.seed, 1 << 30])))
    orgs: list[dict[str, object]] = []
    org_ids = iter(uuids(rng, 10 * len(tree.communities) + 100).to_pylist())

    def add(
        code: str, name: str, kind: OrgType, division: str, parent: dict[str, object] | None
    ) -> dict[str, object]:
        oid = next(org_ids)
        path = (str(parent["path"]) if parent else "/") + oid.replace("-", "") + "/"
        row = {"id": oid, "code": code, "name": name, "type": kind.value}
        row |= {"division_code": division, "parent_id": parent["id"] if parent else None}
        row["path"] = path
        orgs.append(row)
        return row

    by_code = {d.code: d for d in tree.divisions}
    region = by_code[tree.region]
    province_root = None
    if region.level == "province":
        province_root = add(f"HC{region.code}", f"{region.name}卫生健康委员会", OrgType.HEALTH_COMMISSION, region.code, None)  # fmt: skip
        add(f"CDC{region.code}", f"{region.name}疾病预防控制中心", OrgType.CDC, region.code, province_root)  # fmt: skip
    city_root: dict[str, dict[str, object] | None] = {}
    for county in tree.counties:
        city_code = county.parent_code or ""
        if city_code in city_root:
            continue
        city_root[city_code] = None
        if region.level in ("province", "prefecture"):
            city = by_code[city_code]
            root = add(f"HC{city_code}", f"{city.name}卫生健康委员会", OrgType.HEALTH_COMMISSION, city_code, province_root)  # fmt: skip
            add(f"CDC{city_code}", f"{city.name}疾病预防控制中心", OrgType.CDC, city_code, root)
            add(f"H{city_code}01", f"{city.name}第一人民医院", OrgType.HOSPITAL, city_code, root)
            city_root[city_code] = root
    hospital_of: dict[str, str] = {}
    centre_of: dict[str, dict[str, object]] = {}
    for county in tree.counties:
        root = add(f"HC{county.code}", f"{county.name}卫生健康局", OrgType.HEALTH_COMMISSION, county.code, city_root[county.parent_code or ""])  # fmt: skip
        add(f"CDC{county.code}", f"{county.name}疾病预防控制中心", OrgType.CDC, county.code, root)
        hosp = add(f"H{county.code}01", f"{county.name}人民医院", OrgType.HOSPITAL, county.code, root)  # fmt: skip
        add(f"H{county.code}02", f"{county.name}中医院", OrgType.HOSPITAL, county.code, root)
        hospital_of[county.code] = str(hosp["id"])
        for town in (t for t in tree.townships if t.parent_code == county.code):
            rural = town.name.endswith("镇")
            kind = OrgType.TOWNSHIP_CENTRE if rural else OrgType.COMMUNITY_CENTRE
            label = "卫生院" if rural else "社区卫生服务中心"
            centre_of[town.code] = add(
                f"C{town.code[:9]}", town.name + label, kind, town.code, root
            )
    n_comm = len(tree.communities)
    community_org = np.empty(n_comm, dtype=object)
    community_centre = np.empty(n_comm, dtype=object)
    community_hospital = np.empty(n_comm, dtype=object)
    station: dict[str, object] | None = None
    for i, comm in enumerate(tree.communities):
        centre = centre_of[comm.township_code]
        community_centre[i] = centre["id"]
        community_hospital[i] = hospital_of[comm.county_code]
        if comm.rural:
            clinic = add(f"V{comm.code}", comm.name + "卫生室", OrgType.VILLAGE_CLINIC, comm.code, centre)  # fmt: skip
            community_org[i] = clinic["id"]
        elif (
            int(comm.code[-3:]) % 2 == 1 or station is None or station["parent_id"] != centre["id"]
        ):
            station = add(f"S{comm.code}", comm.name.removesuffix("社区") + "社区卫生服务站", OrgType.STATION, comm.code, centre)  # fmt: skip
            community_org[i] = station["id"]
        else:
            community_org[i] = station["id"]
    weights = np.array([c.weight for c in tree.communities])
    weights = weights / weights.sum()

    # Teams: per centre, enough for ``panel_size`` residents each (at least two).
    centres = list(centre_of.values())
    centre_index = {str(c["id"]): k for k, c in enumerate(centres)}
    centre_share = np.zeros(len(centres))
    np.add.at(centre_share, [centre_index[str(c)] for c in community_centre], weights)
    n_teams = np.maximum(2, np.round(centre_share * config.residents / config.panel_size)).astype(
        np.int64
    )
    team_start = np.r_[0, np.cumsum(n_teams)[:-1]]
    total_teams = int(n_teams.sum())
    n_prac = 3 * total_teams + 2 * len(hospital_of) * len(_DEPARTMENTS)
    prac_ids = uuids(rng, n_prac).to_numpy(zero_copy_only=False)
    male = rng.random(n_prac) < 0.45
    prac_names = person_names(rng, male)
    team_ids = uuids(rng, total_teams).to_numpy(zero_copy_only=False)
    titles: list[str] = []
    prac_org: list[str] = []
    team_rows: dict[str, list[object]] = {
        "id": [],
        "name": [],
        "organization_id": [],
        "leader_id": [],
    }
    members: dict[str, list[object]] = {"team_id": [], "practitioner_id": [], "role_in_team": []}
    for k, centre in enumerate(centres):
        for j in range(int(n_teams[k])):
            t = int(team_start[k]) + j
            gp, nurse, phw = prac_ids[3 * t : 3 * t + 3]
            titles += [_GP_TITLES[int(rng.integers(0, 4))], "护师", "公共卫生医师"]
            prac_org += [str(centre["id"])] * 3
            team_rows["id"].append(team_ids[t])
            short = str(centre["name"]).removesuffix("社区卫生服务中心").removesuffix("卫生院")
            team_rows["name"].append(f"{short}家庭医生团队{j + 1:02d}")
            team_rows["organization_id"].append(centre["id"])
            team_rows["leader_id"].append(gp)
            for pid, role in ((gp, "全科医生"), (nurse, "护士"), (phw, "公卫人员")):
                members["team_id"].append(team_ids[t])
                members["practitioner_id"].append(pid)
                members["role_in_team"].append(role)
    specialists: dict[str, StrArray] = {}
    offset = 3 * total_teams
    for county_code, hosp_id in hospital_of.items():
        count = 2 * len(_DEPARTMENTS)
        specialists[county_code] = prac_ids[offset : offset + count]
        titles += ["主治医师", "副主任医师"] * len(_DEPARTMENTS)
        prac_org += [hosp_id] * count
        offset += count
    licence = [f"1103{i:011d}" for i in range(n_prac)]
    packages = uuids(rng, 4).to_numpy(zero_copy_only=False)
    comm_team_start = np.array([team_start[centre_index[str(c)]] for c in community_centre])
    comm_team_count = np.array([n_teams[centre_index[str(c)]] for c in community_centre])
    leaders = np.array(team_rows["leader_id"], dtype=object)
    phw = prac_ids[2 : 3 * total_teams : 3]
    built = {
        "divisions": tables.build(
            "divisions",
            {
                "code": [d.code for d in tree.divisions],
                "name": [d.name for d in tree.divisions],
                "level": [d.level for d in tree.divisions],
                "parent_code": [d.parent_code for d in tree.divisions],
                "edition": [EDITION] * len(tree.divisions),
            },
            stamp,
        ),
        "organizations": tables.build(
            "organizations", {k: [o[k] for o in orgs] for k in orgs[0]}, stamp
        ),
        "practitioners": tables.build(
            "practitioners",
            {
                "id": prac_ids,
                "name": prac_names,
                "sex": np.where(male, "M", "F"),
                "title": titles,
                "licence_number": licence,
                "organization_id": prac_org,
                "phone": phone_numbers(rng, n_prac),
            },
            stamp,
        ),
        "teams": tables.build("teams", team_rows, stamp),
        "team_members": tables.build("team_members", members, stamp),
        "service_packages": tables.build(
            "service_packages",
            {
                "id": packages,
                "code": ["BASIC", "ELDERLY", "HTN", "T2DM"],
                "name": ["基础服务包", "老年人服务包", "高血压患者服务包", "糖尿病患者服务包"],
                "annual_fee_fen": [0, 12000, 12000, 12000],
            },
            stamp,
        ),
    }
    return Registry(
        community_codes=np.array([c.code for c in tree.communities], dtype=object),
        community_weights=weights,
        community_address=np.array([c.full_address for c in tree.communities], dtype=object),
        community_county=np.array([int(c.county_code) for c in tree.communities]),
        community_org=community_org,
        community_centre=community_centre,
        community_hospital=community_hospital,
        community_team_start=comm_team_start.astype(np.int64),
        community_team_count=comm_team_count.astype(np.int64),
        team_ids=team_ids,
        team_leaders=leaders,
        team_phw=phw,
        hospital_specialists=specialists,
        package_ids=packages,
        tables=built,
    )
