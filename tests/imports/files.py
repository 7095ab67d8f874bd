"""A small plant as import files (CSV text per kind), for the import tests.

Its sessions are dated from the day the tests run, so they mean the same on any day: S1 is
tomorrow (yet to come), S2 six days ago (held, attendance on paper). Tests that pin the app's
clock pin it to these days (`day`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

#: today in the test plant's clock (the settings' default zone), when the tests start
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def day(offset: int) -> date:
    """The plant day `offset` days from `TODAY` (S1 is on `day(1)`, S2 on `day(-6)`)."""
    return TODAY + timedelta(days=offset)


ORG = """code,name,kind,parent_code,head_employee_no
G,测试集团,group,,
P1,一厂,plant,G,
P2,二厂,plant,G,
W1,冲压车间,workshop,P1,
D1,质量部,department,P1,
T1,甲班,team,W1,
W3,注塑车间,workshop,P2,
"""
POSITIONS = """code,name,mandatory_courses
OP,操作工,SAFE;FIRE
QC,质检员,SAFE
"""
COURSES = """code,title,duration_minutes,validity_days,materials
SAFE,安全生产基础,60,365,M1;M2
FIRE,消防安全,45,730,
"""
EMPLOYEES = """employee_no,name,org_code,position_code,badge_uid,phone,email,hired_on,left_on
E1,张三,T1,OP,B1,13800000001,,2020-01-01,
E2,李四,T1,OP,B2,,,,
E3,王五,D1,QC,B3,,,,
E4,赵六,W3,OP,B4,,,,
"""
SESSIONS = f"""code,course_code,plant_code,room,starts_at,ends_at,trainer,roster,capacity
S1,SAFE,P1,培训室A,{day(1)}T09:00:00+08:00,{day(1)}T10:00:00+08:00,E3,T1;position:QC,30
S2,FIRE,P1,培训室A,{day(-6)}T09:00:00+08:00,{day(-6)}T10:00:00+08:00,外部讲师 陈老师,E1;E4,
"""
SHIFTS = f"""employee_no,starts_at,ends_at,line
E1,{day(1)}T08:00:00+08:00,{day(1)}T16:00:00+08:00,冲压1线
"""
ATTENDANCE = f"""session_code,employee_no,checked_in_at,method,note
S2,E1,{day(-6)}T08:58:00+08:00,paper,签到表第 1 页
S2,E4,{day(-6)}T09:20:00+08:00,,
"""

PLANT = {
    "org": ORG,
    "positions": POSITIONS,
    "courses": COURSES,
    "employees": EMPLOYEES,
    "shifts": SHIFTS,
    "sessions": SESSIONS,
    "attendance": ATTENDANCE,
}
