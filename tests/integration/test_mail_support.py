"""Shared seeding for the mail tests (no tests here): one bureau, its schools, one campaign."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy.orm import Session

from cdsflow.storage.tables import Assessment, Campaign, CampaignMilestone, Unit

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Seeded:
    campaign_id: int
    bureau_id: int
    school_ids: list[int]
    assessment_ids: list[int]


def seed_campaign(
    engine,
    states: list[str],
    *,
    emails_per_school: int = 1,
    due_at: datetime = datetime(2025, 3, 31, 23, 59, tzinfo=VN),
    status: str = "launched",
    bureau_emails: str = "pgd@badinh.edu.vn",
    milestone_stage: str = "proposal",
    actor: str = "school",
) -> Seeded:
    """A bureau, len(states) schools (school i in states[i]) and a campaign with milestone `to_trinh`."""
    with Session(engine) as s:
        bureau = Unit(code="PGD-BD", name="Phòng GD&ĐT quận Ba Đình", short_code="PGDĐT", kind="bureau",
                      emails=bureau_emails)
        s.add(bureau)
        s.flush()
        schools = [
            {
                "code": f"TH{i:05d}", "name": f"Trường Tiểu học Số {i}", "short_code": f"TH{i}",
                "kind": "school", "supervisor_id": bureau.id,
                "emails": ",".join(f"school{i}.{k}@example.edu.vn" for k in range(emails_per_school)),
            }
            for i in range(len(states))
        ]
        s.execute(insert(Unit), schools)
        school_ids = list(s.scalars(Unit.__table__.select().with_only_columns(Unit.id)
                                    .where(Unit.kind == "school").order_by(Unit.id)))
        campaign = Campaign(issuer_id=bureau.id, school_year="2024-2025", status=status, index_set_code="4725",
                            title="Kế hoạch số 12/KH-PGDĐT ngày 05/3/2025 của Phòng GD&ĐT quận Ba Đình")
        s.add(campaign)
        s.flush()
        s.add(CampaignMilestone(campaign_id=campaign.id, position=1, key="to_trinh", actor=actor,
                                title="Gửi tờ trình đề nghị đánh giá ngoài", stage=milestone_stage, due_at=due_at))
        s.execute(insert(Assessment), [
            {"campaign_id": campaign.id, "school_id": sid, "state": st} for sid, st in zip(school_ids, states, strict=False)
        ])
        assessment_ids = list(s.scalars(Assessment.__table__.select().with_only_columns(Assessment.id)
                                        .order_by(Assessment.school_id)))
        s.commit()
        return Seeded(campaign.id, bureau.id, school_ids, assessment_ids)
