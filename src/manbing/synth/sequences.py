"""Sequence numbers handed out so far, carried from one chunk to the next.

An ID number (GB 11643) has 500 sequence numbers per (county, birth date, sex); a health record
number (community code + 5 digits) has 99 999 per community. Chunks are generated one after the
other, and each chunk takes the next free numbers of every cell, so small chunks waste nothing
and the same seed still gives the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from manbing.synth import ids
from manbing.synth.config import SynthConfig
from manbing.synth.dates import day

ID_SLOTS = 500  # sequence numbers per (county, birth date, sex): 3 digits, odd men, even women
RECORD_SLOTS = 99_999  # record numbers per community: 5 digits, from 00001

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass
class Sequences:
    end_day: int
    n_days: int
    counties: Ints  # sorted county codes
    community_codes: npt.NDArray[np.object_]
    id_used: npt.NDArray[np.int32] = field(repr=False)
    record_used: Ints = field(repr=False)
    without_id: int = 0  # residents of full cells so far

    @classmethod
    def start(
        cls, config: SynthConfig, community_county: Ints, community_codes: npt.NDArray[np.object_]
    ) -> Sequences:
        oldest = max(low for low, _ in config.pyramid) + 10  # the last band is 10 years wide
        n_days = int(oldest * 365.25) + 2
        counties = np.unique(community_county).astype(np.int64)
        return cls(
            end_day=int(day(config.end_date)),
            n_days=n_days,
            counties=counties,
            community_codes=community_codes,
            id_used=np.zeros(len(counties) * n_days * 2, dtype=np.int32),
            record_used=np.zeros(len(community_codes), dtype=np.int64),
        )

    def take_ids(self, county: Ints, birth: Ints, male: Bools) -> tuple[Ints, Bools]:
        """The 0-based position of each person in its (county, birth date, sex) cell, and
        whether that position is within the 500 sequence numbers; marks them used."""
        age_days = self.end_day - birth
        if len(birth) and (age_days.min() < 0 or age_days.max() >= self.n_days):
            raise ValueError("birth date outside the generated age range")
        cell = (np.searchsorted(self.counties, county) * self.n_days + age_days) * 2 + male
        position = self.id_used[cell].astype(np.int64) + ids.rank_within(cell)
        ok = position < ID_SLOTS
        cells, counts = np.unique(cell, return_counts=True)
        self.id_used[cells] = np.minimum(self.id_used[cells] + counts, ID_SLOTS)
        self.without_id += int((~ok).sum())
        return position, ok

    def take_records(self, community: Ints) -> Ints:
        """The next record numbers (1-based) of each record's community; marks them used."""
        number = self.record_used[community] + ids.rank_within(community) + 1
        if len(number) and number.max() > RECORD_SLOTS:
            full = self.community_codes[community[int(np.argmax(number))]]
            raise ValueError(
                f"community {full} needs more than {RECORD_SLOTS} record numbers: "
                "generate fewer residents or a larger region"
            )
        comms, counts = np.unique(community, return_counts=True)
        self.record_used[comms] += counts
        return number
