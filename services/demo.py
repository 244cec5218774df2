"""The demo enterprise's service catalog, knowledge base and a few requests.

`manage.py seed_demo` calls `seed_app()` after the core (`esm.demo`) has created the
departments and people, inside the same transaction. Everything is keyed by natural keys
(slugs, (item, key), (item, position), submission keys), so running it again changes
nothing and never duplicates a row.

The requests are submitted through the request form and `services.actions`, exactly as
the portal does, so their answers, approvals and events look like real ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from esm.models import Department, DepartmentRole, Location
from services import actions
from services.demo_plans import seed_desks, seed_directory_accounts, seed_plans
from services.demo_queues import seed_queues
from services.forms import RequestForm
from services.models import (
    Approval,
    ApprovalStep,
    Article,
    CatalogItem,
    Category,
    Entitlement,
    FormField,
    Priority,
    Service,
    ServiceRequest,
    SlaPolicy,
    SlaTarget,
)

User = get_user_model()

Kind = FormField.Kind
AGENT, MANAGER = DepartmentRole.Role.AGENT, DepartmentRole.Role.MANAGER
LOW, NORMAL, HIGH, URGENT = Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT

LOCATION_CHOICES = ["London HQ", "Manchester", "Remote"]
OFFICE_CHOICES = ["London HQ", "Manchester"]
COST_CENTRE = r"CC-\d{4}"
COST_CENTRE_MESSAGE = "A cost centre looks like CC-1234."


# --- Categories, services and SLA policies --------------------------------------------------

CATEGORIES = {
    "joining-and-leaving": "Joining and leaving",
    "accounts-and-access": "Accounts and access",
    "devices-and-software": "Devices and software",
    "workplace": "Workplace and buildings",
    "time-off-and-wellbeing": "Time off and wellbeing",
    "pay-and-records": "Pay and records",
    "money-and-purchasing": "Money and purchasing",
}


@dataclass(frozen=True)
class ServiceSpec:
    slug: str
    name: str
    outcome: str
    department: str
    owner: str
    category: str


SERVICES = [
    ServiceSpec(
        "joining-and-leaving",
        "Joining and leaving",
        "A new hire is productive on day one, and a leaver hands everything back on their "
        "last day without chasing. HR owns it; IT and Facilities deliver parts of it.",
        "hr",
        "holly",
        "joining-and-leaving",
    ),
    ServiceSpec(
        "accounts-and-access",
        "Accounts and access",
        "You can sign in to everything your job needs, and only that, within a day of asking.",
        "it",
        "iris",
        "accounts-and-access",
    ),
    ServiceSpec(
        "working-devices",
        "Working devices and software",
        "You have a laptop, phone and software that work, so nothing stands between you "
        "and your work.",
        "it",
        "iris",
        "devices-and-software",
    ),
    ServiceSpec(
        "a-place-to-work",
        "A place to work",
        "You have a desk, a badge and somewhere to park or meet, wherever you are based.",
        "facilities",
        "fred",
        "workplace",
    ),
    ServiceSpec(
        "safe-working-buildings",
        "Safe, working buildings",
        "Anything broken in a building is made safe the same day and fixed for good.",
        "facilities",
        "fred",
        "workplace",
    ),
    ServiceSpec(
        "time-off-and-wellbeing",
        "Time off and wellbeing",
        "You can take the leave you are entitled to, and get support when life happens, "
        "in confidence.",
        "hr",
        "holly",
        "time-off-and-wellbeing",
    ),
    ServiceSpec(
        "pay-and-records",
        "Pay and employment records",
        "You are paid correctly and on time, and your records say what is true.",
        "hr",
        # Payroll runs in Finance: the outcome is owned outside the delivering department.
        "fatima",
        "pay-and-records",
    ),
    ServiceSpec(
        "spending-company-money",
        "Spending company money",
        "You can buy what the work needs, and get your own money back within a week.",
        "finance",
        "fatima",
        "money-and-purchasing",
    ),
    ServiceSpec(
        "budgets-and-planning",
        "Budgets and planning",
        "Managers know what they can spend and get a decision on a budget change within days.",
        "finance",
        "erin",
        "money-and-purchasing",
    ),
]

# Business minutes (the fulfilling department's working hours): (response, resolution).
DAY = 510  # one company working day, 09:00-17:30
SLA_POLICIES: dict[str, tuple[str, dict[str, tuple[int, int]]]] = {
    "IT service desk": (
        "Accounts, access and devices. IT works 08:00-18:00 on weekdays.",
        {URGENT: (15, 240), HIGH: (30, 480), NORMAL: (120, 1200), LOW: (480, 3000)},
    ),
    "HR cases": (
        "Joining, leaving, leave and records.",
        {URGENT: (60, DAY), HIGH: (240, 2 * DAY), NORMAL: (DAY, 5 * DAY), LOW: (DAY, 10 * DAY)},
    ),
    "Facilities": (
        "Desks, badges, parking and building issues; urgent means unsafe.",
        {URGENT: (30, 240), HIGH: (60, DAY), NORMAL: (240, 3 * DAY), LOW: (DAY, 10 * DAY)},
    ),
    "Finance": (
        "Expenses, purchases, cards and budgets.",
        {URGENT: (120, DAY), HIGH: (240, 2 * DAY), NORMAL: (DAY, 5 * DAY), LOW: (DAY, 10 * DAY)},
    ),
}
SLA_OF = {
    "it": "IT service desk",
    "hr": "HR cases",
    "facilities": "Facilities",
    "finance": "Finance",
}


# --- Catalog items ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """One form field; `show_when` is (key of an earlier field of the same item, value)."""

    key: str
    label: str
    kind: str = Kind.TEXT
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    min: Decimal | int | None = None
    max: Decimal | int | None = None
    pattern: str = ""
    pattern_message: str = ""
    show_when: tuple[str, str] | None = None


@dataclass(frozen=True)
class Step:
    """An approval step: the requester's manager, a role in a department, or a person."""

    approver: str
    department: str = ""
    role: str = ""
    person: str = ""


MANAGER_STEP = Step(ApprovalStep.Approver.REQUESTER_MANAGER)


def role_step(department: str, role: str = MANAGER) -> Step:
    return Step(ApprovalStep.Approver.DEPARTMENT_ROLE, department=department, role=role)


def person_step(username: str) -> Step:
    return Step(ApprovalStep.Approver.PERSON, person=username)


@dataclass(frozen=True)
class ItemSpec:
    slug: str
    name: str
    service: str
    department: str
    summary: str
    description: str
    fields: tuple[Field, ...] = ()
    approvals: tuple[Step, ...] = ()
    # ("department", slug) | ("location", slug) | ("role", Entitlement.Role)
    entitlements: tuple[tuple[str, str], ...] = ()
    expected_days: int = 3
    priority: str = NORMAL
    is_confidential: bool = False
    allow_on_behalf: bool = False


ITEMS = [
    # IT: accounts and access
    ItemSpec(
        "password-reset",
        "Password reset",
        "accounts-and-access",
        "it",
        "Locked out, or your password expired? Get back in.",
        "Most people can **reset their own password** in a minute: see the article "
        "*Reset your password yourself*. Ask here when that does not work, and the "
        "service desk will send you a one-time link.",
        fields=(
            Field(
                "system",
                "Which sign-in?",
                Kind.CHOICE,
                required=True,
                choices=("Windows and Microsoft 365", "VPN", "Salesforce", "Something else"),
            ),
            Field(
                "locked_out",
                "Are you locked out of your laptop?",
                Kind.YES_NO,
                help="If yes, call the service desk on 0161 000 0000 from any phone.",
            ),
        ),
        expected_days=1,
        priority=HIGH,
    ),
    ItemSpec(
        "software-access",
        "Software access",
        "accounts-and-access",
        "it",
        "Get a licence and access to an application your work needs.",
        "Your manager approves the need, then an IT manager approves the licence. "
        "Access is granted to your account; you will get an email when it is ready.",
        fields=(
            Field(
                "application",
                "Application",
                Kind.CHOICE,
                required=True,
                choices=(
                    "Salesforce",
                    "Jira",
                    "Confluence",
                    "Figma",
                    "Tableau",
                    "GitHub",
                    "Adobe Creative Cloud",
                ),
            ),
            Field(
                "justification",
                "Why do you need it?",
                Kind.LONG_TEXT,
                required=True,
                help="What you will use it for, so your manager and IT can approve it.",
                min=20,
            ),
        ),
        approvals=(MANAGER_STEP, role_step("it")),
        expected_days=2,
    ),
    ItemSpec(
        "vpn-access",
        "VPN access",
        "accounts-and-access",
        "it",
        "Reach internal systems from home or while travelling.",
        "Read *Setting up VPN* first: most laptops already have it. Ask here if yours "
        "does not connect, or before working from another country.",
        fields=(
            Field("reason", "What do you need to reach?", Kind.LONG_TEXT, required=True),
            Field("abroad", "Will you connect from outside the UK?", Kind.YES_NO, required=True),
            Field(
                "countries",
                "Which countries, and when?",
                Kind.TEXT,
                required=True,
                show_when=("abroad", "yes"),
            ),
        ),
        expected_days=1,
    ),
    ItemSpec(
        "shared-mailbox",
        "Shared mailbox or distribution list",
        "accounts-and-access",
        "it",
        "A team inbox or mailing list, or people added to one.",
        "Tell us the address and who should be in it. The owner you name approves later "
        "membership changes.",
        fields=(
            Field(
                "address",
                "Address",
                Kind.TEXT,
                required=True,
                help="For example sales-uk@example.com",
                pattern=r"[a-z0-9._-]+@example\.com",
                pattern_message="Use an @example.com address in lower case.",
            ),
            Field("owner", "Owner", Kind.PERSON, required=True),
            Field("members", "Members (one per line)", Kind.LONG_TEXT),
        ),
        expected_days=2,
        allow_on_behalf=True,
    ),
    ItemSpec(
        "admin-rights",
        "Temporary admin rights",
        "accounts-and-access",
        "it",
        "Install or configure something that needs administrator rights on your laptop.",
        "Admin rights are granted for a limited time and approved by an IT manager.",
        fields=(
            Field("justification", "What do you need to install or change?", Kind.LONG_TEXT, True),
            Field(
                "days",
                "For how many days?",
                Kind.NUMBER,
                required=True,
                min=1,
                max=14,
                help="At most two weeks.",
            ),
        ),
        approvals=(role_step("it"),),
        expected_days=1,
    ),
    # IT: devices and software
    ItemSpec(
        "new-laptop",
        "New or replacement laptop",
        "working-devices",
        "it",
        "A laptop for a new role, or one to replace a broken or ageing machine.",
        "Standard models are in stock. Your manager approves; IT prepares and ships it.",
        fields=(
            Field(
                "model",
                "Model",
                Kind.CHOICE,
                required=True,
                choices=("MacBook Air 13", "MacBook Pro 14", "ThinkPad X1 Carbon"),
            ),
            Field(
                "reason",
                "Why?",
                Kind.CHOICE,
                required=True,
                choices=("Broken", "Older than four years", "Role needs more power"),
            ),
            Field(
                "accessories",
                "Accessories",
                Kind.MULTI_CHOICE,
                choices=("Charger", "USB-C hub", "Laptop bag", "Headset"),
                max=3,
                help="Pick up to three.",
            ),
        ),
        approvals=(MANAGER_STEP,),
        expected_days=5,
    ),
    ItemSpec(
        "mobile-phone",
        "Mobile phone",
        "working-devices",
        "it",
        "A company phone, or a SIM for one you have.",
        "Company phones are for roles that are on call or travel. Your manager approves.",
        fields=(
            Field(
                "model",
                "Phone",
                Kind.CHOICE,
                required=True,
                choices=("iPhone 16", "Samsung Galaxy S25", "SIM only"),
            ),
            Field("roaming", "Do you need roaming data abroad?", Kind.YES_NO),
        ),
        approvals=(MANAGER_STEP,),
        expected_days=5,
    ),
    ItemSpec(
        "monitor-and-peripherals",
        "Monitor, keyboard and other peripherals",
        "working-devices",
        "it",
        "Screens, keyboards, mice and headsets for the office or home.",
        "Pick what you need; it is delivered to your desk or sent to your home address.",
        fields=(
            Field(
                "items",
                "What do you need?",
                Kind.MULTI_CHOICE,
                required=True,
                choices=("27-inch monitor", "Keyboard", "Mouse", "Headset", "Webcam", "Dock"),
                min=1,
                max=4,
                help="Pick one to four.",
            ),
            Field("deliver_to", "Deliver to", Kind.CHOICE, True, choices=("My desk", "My home")),
        ),
        approvals=(MANAGER_STEP,),
    ),
    ItemSpec(
        "report-an-it-problem",
        "Report an IT problem",
        "working-devices",
        "it",
        "Something on your laptop, phone or an application is not working.",
        "Tell us what happened and add a screenshot if you can.",
        fields=(
            Field(
                "affected",
                "What is affected?",
                Kind.CHOICE,
                required=True,
                choices=("Laptop", "Phone", "Email", "An application", "Wi-Fi or network"),
            ),
            Field("details", "What happened?", Kind.LONG_TEXT, required=True),
            Field("screenshot", "Screenshot", Kind.ATTACHMENT),
        ),
        expected_days=1,
    ),
    # HR: joining and leaving
    ItemSpec(
        "new-hire-onboarding",
        "New hire onboarding",
        "joining-and-leaving",
        "hr",
        "Everything a new colleague needs on day one: record, accounts, laptop, desk, badge.",
        "Raise this as soon as the offer is accepted. HR creates the employee record, IT "
        "sets up accounts and a laptop, and Facilities books a desk and a badge, in "
        "parallel. Your manager approves the hire first.",
        fields=(
            Field("first_name", "New hire's first name", Kind.TEXT, required=True),
            Field("last_name", "New hire's last name", Kind.TEXT, required=True),
            Field("start_date", "Start date", Kind.DATE, required=True),
            Field("role", "Role", Kind.TEXT, help="The job title in the offer letter."),
            Field(
                "location", "Location", Kind.CHOICE, required=True, choices=tuple(LOCATION_CHOICES)
            ),
            Field("laptop_needed", "Laptop needed?", Kind.YES_NO, required=True),
            Field(
                "laptop_model",
                "Laptop model",
                Kind.CHOICE,
                required=True,
                choices=("MacBook Air 13", "MacBook Pro 14", "ThinkPad X1 Carbon"),
                show_when=("laptop_needed", "yes"),
            ),
            Field(
                "buddy", "Onboarding buddy", Kind.PERSON, help="A colleague who shows them around."
            ),
        ),
        approvals=(MANAGER_STEP,),
        expected_days=10,
        # Hiring managers (or HR on their behalf) raise it.
        allow_on_behalf=True,
    ),
    ItemSpec(
        "offboarding",
        "Offboarding",
        "joining-and-leaving",
        "hr",
        "Someone is leaving: close accounts, collect equipment, release their desk.",
        "Raise this when a resignation is accepted. HR confirms the last day; IT disables "
        "accounts and recovers the laptop; Facilities releases the desk and the badge.",
        fields=(
            Field("leaver", "Who is leaving?", Kind.PERSON, required=True),
            Field("last_day", "Last working day", Kind.DATE, required=True),
            Field(
                "equipment",
                "Equipment to return",
                Kind.MULTI_CHOICE,
                choices=("Laptop", "Phone", "Badge", "Monitor", "Parking permit"),
            ),
            Field("notes", "Anything else we should know?", Kind.LONG_TEXT),
        ),
        # It closes someone's accounts: raised by a people manager, confirmed by HR.
        approvals=(role_step("hr"),),
        entitlements=(("role", Entitlement.Role.PEOPLE_MANAGER),),
        expected_days=5,
        allow_on_behalf=True,
    ),
    # HR: time off and wellbeing (confidential cases)
    ItemSpec(
        "parental-leave",
        "Parental leave",
        "time-off-and-wellbeing",
        "hr",
        "Plan maternity, paternity, adoption or shared parental leave, in confidence.",
        "Only you and HR see this request. Read *How parental leave works* for what you "
        "are entitled to; an HR manager confirms your plan.",
        fields=(
            Field(
                "leave_type",
                "Type of leave",
                Kind.CHOICE,
                required=True,
                choices=("Maternity", "Paternity", "Adoption", "Shared parental"),
            ),
            Field("due_date", "Expected week of birth or placement", Kind.DATE, required=True),
            Field("leave_start", "First day of leave", Kind.DATE, required=True),
            Field("weeks", "How many weeks?", Kind.NUMBER, required=True, min=1, max=52),
            Field("notes", "Anything you would like HR to know", Kind.LONG_TEXT),
        ),
        approvals=(role_step("hr"),),
        expected_days=5,
        is_confidential=True,
    ),
    ItemSpec(
        "raise-a-workplace-concern",
        "Raise a workplace concern",
        "time-off-and-wellbeing",
        "hr",
        "Bullying, harassment, discrimination or a grievance, handled in confidence.",
        "Only you and HR see this request. An HR partner contacts you within a day.",
        fields=(
            Field(
                "topic",
                "What is it about?",
                Kind.CHOICE,
                required=True,
                choices=("Bullying or harassment", "Discrimination", "A grievance", "Other"),
            ),
            Field("details", "What happened?", Kind.LONG_TEXT, required=True),
            Field("evidence", "Supporting document", Kind.ATTACHMENT),
        ),
        expected_days=2,
        priority=HIGH,
        is_confidential=True,
    ),
    ItemSpec(
        "flexible-working",
        "Flexible working request",
        "time-off-and-wellbeing",
        "hr",
        "Change your hours, days or place of work.",
        "Your manager approves first, then an HR manager confirms the contract change.",
        fields=(
            Field(
                "pattern",
                "What would you like to change?",
                Kind.MULTI_CHOICE,
                required=True,
                choices=("Fewer hours", "Different days", "Compressed week", "Work from home"),
                min=1,
                max=2,
            ),
            Field("from_date", "From", Kind.DATE, required=True),
            Field("hours", "Hours per week", Kind.NUMBER, min=8, max=40),
            Field("details", "Tell us more", Kind.LONG_TEXT),
        ),
        approvals=(MANAGER_STEP, role_step("hr")),
        expected_days=10,
    ),
    ItemSpec(
        "training-course",
        "Training course",
        "time-off-and-wellbeing",
        "hr",
        "Book a course or conference that grows your skills.",
        "Your manager approves the time and the cost.",
        fields=(
            Field("course", "Course or event", Kind.TEXT, required=True),
            Field("date", "Date", Kind.DATE, required=True),
            Field("cost", "Cost (GBP)", Kind.NUMBER, required=True, min=0, max=5000),
            Field(
                "cost_centre",
                "Cost centre",
                Kind.TEXT,
                required=True,
                pattern=COST_CENTRE,
                pattern_message=COST_CENTRE_MESSAGE,
            ),
        ),
        approvals=(MANAGER_STEP,),
        expected_days=5,
        priority=LOW,
    ),
    # HR: pay and records
    ItemSpec(
        "employment-letter",
        "Employment letter",
        "pay-and-records",
        "hr",
        "Proof of employment for a landlord, bank or visa.",
        "HR sends a signed letter by email, usually the next working day.",
        fields=(
            Field(
                "purpose",
                "What is it for?",
                Kind.CHOICE,
                required=True,
                choices=("Mortgage or rent", "Bank", "Visa", "Other"),
            ),
            Field("addressed_to", "Addressed to", Kind.TEXT),
            Field("include_salary", "Include your salary?", Kind.YES_NO, required=True),
        ),
        expected_days=2,
        priority=LOW,
    ),
    ItemSpec(
        "update-personal-details",
        "Update my personal details",
        "pay-and-records",
        "hr",
        "Changed address, name, bank account or emergency contact.",
        "Bank changes made before the 15th apply to this month's pay.",
        fields=(
            Field(
                "changes",
                "What has changed?",
                Kind.MULTI_CHOICE,
                required=True,
                choices=("Address", "Name", "Bank account", "Emergency contact"),
                min=1,
            ),
            Field("details", "New details", Kind.LONG_TEXT, required=True),
            Field("effective", "From", Kind.DATE),
        ),
        expected_days=2,
    ),
    ItemSpec(
        "payslip-question",
        "Question about my pay",
        "pay-and-records",
        "hr",
        "Something on your payslip looks wrong or you do not understand it.",
        "Payroll checks your payslip with you.",
        fields=(
            Field(
                "period",
                "Pay month",
                Kind.TEXT,
                required=True,
                help="For example 2026-03",
                pattern=r"20\d{2}-(0[1-9]|1[0-2])",
                pattern_message="Write the month as YYYY-MM.",
            ),
            Field("question", "Your question", Kind.LONG_TEXT, required=True),
            Field("payslip", "Payslip", Kind.ATTACHMENT),
        ),
        expected_days=3,
    ),
    # Facilities: a place to work
    ItemSpec(
        "desk-move",
        "Desk move",
        "a-place-to-work",
        "facilities",
        "Move to another desk, floor or office, with your equipment.",
        "Facilities books the new desk and IT moves your equipment on the day.",
        fields=(
            Field(
                "from_location", "From", Kind.CHOICE, required=True, choices=tuple(OFFICE_CHOICES)
            ),
            Field("to_location", "To", Kind.CHOICE, required=True, choices=tuple(OFFICE_CHOICES)),
            Field("move_date", "Date", Kind.DATE, required=True),
            Field("near", "Sit near", Kind.PERSON, help="A colleague you work with closely."),
        ),
        expected_days=5,
        allow_on_behalf=True,
    ),
    ItemSpec(
        "building-badge",
        "Building badge",
        "a-place-to-work",
        "facilities",
        "A new or replacement badge for our offices.",
        "Lost badges are disabled as soon as you ask.",
        fields=(
            Field(
                "reason",
                "Why?",
                Kind.CHOICE,
                required=True,
                choices=("Lost", "Damaged", "Name changed", "Need access to another office"),
            ),
            Field("office", "Office", Kind.CHOICE, required=True, choices=tuple(OFFICE_CHOICES)),
        ),
        expected_days=1,
        priority=HIGH,
    ),
    ItemSpec(
        "parking-permit-manchester",
        "Parking permit (Manchester)",
        "a-place-to-work",
        "facilities",
        "A space in the Manchester office car park.",
        "For people based in Manchester. Spaces are allocated weekly.",
        fields=(
            Field(
                "registration",
                "Vehicle registration",
                Kind.TEXT,
                required=True,
                pattern=r"[A-Z]{2}[0-9]{2} ?[A-Z]{3}",
                pattern_message="Use a UK registration such as AB12 CDE.",
            ),
            Field("electric", "Electric vehicle (needs a charging bay)?", Kind.YES_NO),
            Field(
                "days",
                "Which days?",
                Kind.MULTI_CHOICE,
                required=True,
                choices=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
                min=1,
                max=3,
                help="At most three days a week.",
            ),
        ),
        entitlements=(("location", "manchester"),),
        expected_days=5,
        priority=LOW,
    ),
    ItemSpec(
        "event-space",
        "Book a space for an event",
        "a-place-to-work",
        "facilities",
        "A town hall, training day or team event in one of our offices.",
        "Facilities sets up the room and orders catering.",
        fields=(
            Field("office", "Office", Kind.CHOICE, required=True, choices=tuple(OFFICE_CHOICES)),
            Field("date", "Date", Kind.DATE, required=True),
            Field("attendees", "Attendees", Kind.NUMBER, required=True, min=2, max=200),
            Field("catering", "Catering?", Kind.YES_NO),
            Field(
                "dietary",
                "Dietary needs",
                Kind.MULTI_CHOICE,
                choices=("Vegetarian", "Vegan", "Gluten free", "Halal", "Kosher"),
                show_when=("catering", "yes"),
            ),
        ),
        expected_days=5,
        priority=LOW,
        allow_on_behalf=True,
    ),
    ItemSpec(
        "visitor-access",
        "Visitor access",
        "a-place-to-work",
        "facilities",
        "Register a guest so their badge is ready at reception.",
        "Reception will call the host when the visitor arrives.",
        fields=(
            Field("visitor", "Visitor's name", Kind.TEXT, required=True),
            Field("company", "Visitor's company", Kind.TEXT),
            Field("host", "Host", Kind.PERSON, required=True),
            Field("date", "Date of visit", Kind.DATE, required=True),
            Field("office", "Office", Kind.CHOICE, required=True, choices=tuple(OFFICE_CHOICES)),
        ),
        expected_days=1,
        allow_on_behalf=True,
    ),
    # Facilities: safe, working buildings
    ItemSpec(
        "report-a-facilities-issue",
        "Report a facilities issue",
        "safe-working-buildings",
        "facilities",
        "Something broken, dirty, too hot or unsafe in a building.",
        "If anyone is in danger, call **999** first, then reception. Add a photo: it "
        "helps us bring the right tools.",
        fields=(
            Field("office", "Office", Kind.CHOICE, required=True, choices=tuple(OFFICE_CHOICES)),
            Field("where", "Where exactly?", Kind.TEXT, required=True, help="Floor, room or desk."),
            Field("details", "What is wrong?", Kind.LONG_TEXT, required=True),
            Field(
                "urgency",
                "How urgent is it?",
                Kind.CHOICE,
                required=True,
                choices=(
                    "Unsafe now",
                    "Stops me working",
                    "Annoying but I can work",
                    "Whenever convenient",
                ),
            ),
            Field("photo", "Photo", Kind.ATTACHMENT, help="JPEG or PNG, up to 10 MB."),
        ),
        expected_days=2,
    ),
    ItemSpec(
        "workstation-assessment",
        "Workstation assessment",
        "safe-working-buildings",
        "facilities",
        "An assessment of your desk, chair and screen set-up, at the office or at home.",
        "A trained assessor visits or calls you and orders what you need.",
        fields=(
            Field(
                "where", "Where do you work most?", Kind.CHOICE, True, choices=("Office", "Home")
            ),
            Field("symptoms", "Any discomfort we should know about?", Kind.LONG_TEXT),
        ),
        expected_days=10,
        priority=LOW,
    ),
    # Finance: spending company money
    ItemSpec(
        "expense-claim",
        "Expense claim",
        "spending-company-money",
        "finance",
        "Get back money you spent on company business.",
        "Attach the receipt. Your manager approves; Finance pays in the next weekly run.",
        fields=(
            Field(
                "category",
                "Type of expense",
                Kind.CHOICE,
                required=True,
                choices=("Travel", "Hotel", "Meals", "Equipment", "Other"),
            ),
            Field(
                "amount", "Amount (GBP)", Kind.NUMBER, required=True, min=Decimal("0.01"), max=5000
            ),
            Field("spent_on", "Date spent", Kind.DATE, required=True),
            Field(
                "cost_centre",
                "Cost centre",
                Kind.TEXT,
                required=True,
                pattern=COST_CENTRE,
                pattern_message=COST_CENTRE_MESSAGE,
            ),
            Field("receipt", "Receipt", Kind.ATTACHMENT, help="A photo or PDF of the receipt."),
        ),
        approvals=(MANAGER_STEP,),
        expected_days=5,
    ),
    ItemSpec(
        "purchase-request",
        "Purchase request",
        "spending-company-money",
        "finance",
        "Buy goods or services from a supplier with a purchase order.",
        "Your manager approves, then Finance raises the purchase order.",
        fields=(
            Field("supplier", "Supplier", Kind.TEXT, required=True),
            Field("what", "What are you buying?", Kind.LONG_TEXT, required=True),
            Field("amount", "Amount (GBP, excl. VAT)", Kind.NUMBER, True, min=1, max=100000),
            Field(
                "cost_centre",
                "Cost centre",
                Kind.TEXT,
                required=True,
                pattern=COST_CENTRE,
                pattern_message=COST_CENTRE_MESSAGE,
            ),
            Field("quote", "Quote", Kind.ATTACHMENT),
        ),
        approvals=(MANAGER_STEP, role_step("finance")),
        expected_days=5,
    ),
    ItemSpec(
        "new-supplier",
        "New supplier set-up",
        "spending-company-money",
        "finance",
        "Add a supplier so we can pay their invoices.",
        "Finance checks the supplier's details before the first payment.",
        fields=(
            Field("supplier", "Supplier name", Kind.TEXT, required=True),
            Field(
                "vat_number",
                "VAT number",
                Kind.TEXT,
                pattern=r"GB\d{9}",
                pattern_message="A UK VAT number looks like GB123456789.",
            ),
            Field("contact", "Supplier contact email", Kind.TEXT, required=True),
        ),
        expected_days=5,
        priority=LOW,
    ),
    ItemSpec(
        "corporate-credit-card",
        "Corporate credit card",
        "spending-company-money",
        "finance",
        "A company card for frequent spending on the company's behalf.",
        "Issued to Finance staff (and so to the executive team, who sit in Finance). "
        "A Finance manager approves the limit.",
        fields=(
            Field("limit", "Monthly limit (GBP)", Kind.NUMBER, required=True, min=500, max=20000),
            Field("use", "What will you use it for?", Kind.LONG_TEXT, required=True),
        ),
        approvals=(role_step("finance"),),
        # Entitlement kinds narrow each other, so "Finance or executives" cannot be two rows
        # (that would mean Finance *and* executive); the demo's executives sit in Finance.
        entitlements=(("department", "finance"),),
        expected_days=10,
        priority=LOW,
    ),
    # Finance: budgets and planning
    ItemSpec(
        "team-budget-approval",
        "Team budget approval",
        "budgets-and-planning",
        "finance",
        "Ask for a change to your team's budget: new spend, a hire or a transfer.",
        "For people managers. Finance reviews the case; the Finance lead decides.",
        fields=(
            Field("amount", "Amount (GBP)", Kind.NUMBER, required=True, min=100, max=1000000),
            Field(
                "cost_centre",
                "Cost centre",
                Kind.TEXT,
                required=True,
                pattern=COST_CENTRE,
                pattern_message=COST_CENTRE_MESSAGE,
            ),
            Field(
                "quarter",
                "Quarter",
                Kind.CHOICE,
                required=True,
                choices=("Q1", "Q2", "Q3", "Q4"),
            ),
            Field("case", "Business case", Kind.LONG_TEXT, required=True, min=50),
        ),
        approvals=(person_step("fatima"),),
        entitlements=(("role", Entitlement.Role.PEOPLE_MANAGER),),
        expected_days=10,
    ),
    ItemSpec(
        "invoice-query",
        "Invoice or payment query",
        "budgets-and-planning",
        "finance",
        "A supplier says they have not been paid, or an invoice looks wrong.",
        "Finance looks the invoice up and replies to you and the supplier.",
        fields=(
            Field("supplier", "Supplier", Kind.TEXT, required=True),
            Field("invoice_number", "Invoice number", Kind.TEXT, required=True),
            Field("question", "What is the question?", Kind.LONG_TEXT, required=True),
        ),
        expected_days=3,
    ),
]


# --- Knowledge articles ----------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleSpec:
    slug: str
    title: str
    department: str
    author: str
    items: tuple[str, ...]
    body: str
    published: bool = True


ARTICLES = [
    ArticleSpec(
        "reset-your-password-yourself",
        "Reset your password yourself",
        "it",
        "ivan",
        ("password-reset",),
        """You can reset your password without calling anyone, as long as you set up
multi-factor authentication when you joined.

1. Go to **password.example.com** from any browser.
2. Enter your work email address and approve the prompt on your phone.
3. Choose a new password: at least 14 characters. A short sentence works well.
4. Sign in to your laptop with the new password while connected to the office network
   or the VPN, so it syncs.

## It did not work

- *"Your account is locked"*: wait 15 minutes and try again.
- *No prompt on my phone*: your authenticator app may be on an old phone. Ask for a
  **Password reset** and the service desk will send you a one-time link.
""",
    ),
    ArticleSpec(
        "setting-up-vpn",
        "Setting up VPN",
        "it",
        "ivan",
        ("vpn-access", "password-reset"),
        """Company laptops come with the **GlobalProtect** VPN client installed.

1. Click the globe icon in the menu bar (Mac) or the system tray (Windows).
2. Portal: `vpn.example.com`.
3. Sign in with your usual password and approve the prompt on your phone.

Connect before opening internal sites such as the intranet or Tableau.

## Working from abroad

Some countries restrict VPN use. Ask for **VPN access** at least a week before you
travel and say where you are going; IT checks the rules for you.
""",
    ),
    ArticleSpec(
        "setting-up-multi-factor-authentication",
        "Setting up multi-factor authentication",
        "it",
        "iris",
        ("password-reset", "vpn-access"),
        """Multi-factor authentication (MFA) protects your account if your password leaks.

1. Install **Microsoft Authenticator** on your phone.
2. Go to **mysignins.example.com** and choose *Security info* → *Add method*.
3. Scan the QR code with the app.

Moving to a new phone? Add the new phone *before* you wipe the old one.
""",
    ),
    ArticleSpec(
        "which-software-can-i-have",
        "Which software can I have?",
        "it",
        "iris",
        ("software-access",),
        """Everyone has Microsoft 365, Slack and Zoom from day one. Other applications
need a licence:

| Application | Who usually has it | Approval |
|---|---|---|
| Salesforce | Sales, Customer Success | Manager, then IT |
| Jira, Confluence | Everyone who works in projects | Manager, then IT |
| Figma | Design, Marketing | Manager, then IT |
| Tableau | Analysts and managers | Manager, then IT |

Ask with **Software access** and say what you will use it for: a clear reason gets
approved faster.
""",
    ),
    ArticleSpec(
        "your-first-week",
        "Your new hire's first week",
        "hr",
        "holly",
        ("new-hire-onboarding",),
        """A good first week starts two weeks before it.

- **As soon as the offer is accepted**, raise **New hire onboarding**. HR, IT and
  Facilities work on it at the same time.
- **Day one**: the laptop, accounts, desk and badge are ready; HR runs orientation at
  10:00.
- **First week**: the onboarding buddy you named shows them around and introduces the
  team.

Raising it late is the most common reason a new hire waits for a laptop.
""",
    ),
    ArticleSpec(
        "leaving-the-company-checklist",
        "Leaving the company: a checklist for managers",
        "hr",
        "hana",
        ("offboarding",),
        """When someone in your team resigns:

1. Accept the resignation in writing and agree the last working day.
2. Raise **Offboarding** with that date: accounts close at 17:30 that day.
3. Collect the laptop, phone and badge on the last day.
4. Make sure shared files they own are handed over before they go.
""",
    ),
    ArticleSpec(
        "how-parental-leave-works",
        "How parental leave works",
        "hr",
        "holly",
        ("parental-leave", "flexible-working"),
        """Congratulations! Here is what you are entitled to.

- **Maternity and adoption leave**: up to 52 weeks; the first 26 weeks on full pay.
- **Paternity leave**: 2 weeks on full pay, taken within 8 weeks of the birth.
- **Shared parental leave**: parents can share up to 50 weeks between them.

Tell us at least **15 weeks before** the expected week of birth by raising
**Parental leave**. Only you and HR see that request. Your manager hears about dates
from you, or from HR with your permission.

Coming back part time? Raise a **Flexible working request** a few months before you
return.
""",
    ),
    ArticleSpec(
        "booking-a-desk",
        "Booking a desk",
        "facilities",
        "fiona",
        ("desk-move",),
        """Most desks are bookable day by day in the **Desks** app.

- Book up to two weeks ahead; bookings not checked in by 10:00 are released.
- Team zones are reserved for their team on their office days.
- Need a permanent desk, a specific floor or an adjusted workstation? Ask for a
  **Desk move**.
""",
    ),
    ArticleSpec(
        "what-counts-as-an-urgent-building-issue",
        "What counts as an urgent building issue",
        "facilities",
        "fred",
        ("report-a-facilities-issue",),
        """Choose **Unsafe now** when someone could get hurt: water near electrics, a
broken stair rail, a smell of gas (leave the building and call 999 first), a blocked
fire exit. We respond within 30 minutes in working hours.

Choose **Stops me working** for no heating, a broken lift, or a room you cannot use.

Everything else (a flickering light, a dripping tap) is fixed in the next few days.
A photo helps us bring the right tools.
""",
    ),
    ArticleSpec(
        "parking-at-the-manchester-office",
        "Parking at the Manchester office",
        "facilities",
        "fred",
        ("parking-permit-manchester",),
        """The Manchester office has 40 spaces, 6 with electric chargers. Permits are for
people based in Manchester, for up to three days a week, allocated every Friday for
the following week. London has no staff parking.
""",
    ),
    ArticleSpec(
        "how-to-claim-expenses",
        "How to claim expenses",
        "finance",
        "felix",
        ("expense-claim",),
        """1. Keep the receipt (a photo is fine).
2. Raise an **Expense claim** within 30 days, with your cost centre (`CC-` and four
   digits, from your manager).
3. Your manager approves it; Finance pays it in the Thursday payment run.

Hotels are covered up to £180 a night in London and £130 elsewhere. Alcohol is not
reimbursed.
""",
    ),
    ArticleSpec(
        "buying-from-a-supplier",
        "Buying from a supplier",
        "finance",
        "fatima",
        ("purchase-request", "new-supplier"),
        """Anything over £500 needs a purchase order **before** you commit.

1. If the supplier is new, raise **New supplier set-up** first.
2. Raise a **Purchase request** with the quote attached.
3. Once it is approved, Finance sends the purchase order to the supplier.

Invoices without a purchase order number are returned to the supplier unpaid.
""",
    ),
    ArticleSpec(
        "working-from-abroad",
        "Working from abroad",
        "hr",
        "hana",
        ("vpn-access",),
        """*Draft: waiting for the tax team's guidance.*

You may work from another country for up to 20 days a year ...
""",
        published=False,
    ),
    ArticleSpec(
        "hybrid-working-etiquette",
        "Hybrid working etiquette",
        "facilities",
        "fiona",
        ("desk-move",),
        """*Draft.*

Clear your desk at the end of the day, book rooms only for meetings that need one ...
""",
        published=False,
    ),
]


# --- Demo requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSpec:
    """A request submitted through the form; then what happened to it, in order."""

    key: str
    item: str
    raised_by: str
    subject: str
    answers: dict[str, Any]
    on_behalf_of: str = ""
    # ("approve" | "reject", username, comment), ("comment", username, body),
    # ("resolve", username, resolution), ("rate", username, "score|comment")
    then: tuple[tuple[str, str, str], ...] = ()


def _requests(today: dt.date) -> list[RequestSpec]:
    def day(offset: int) -> str:
        return (today + dt.timedelta(days=offset)).isoformat()

    return [
        RequestSpec(
            "demo-0001",
            "password-reset",
            "alex",
            "Locked out of Salesforce after holiday",
            {"system": "Salesforce", "locked_out": "no"},
            then=(
                ("resolve", "ivan", "Sent a one-time reset link; Alex is back in."),
                ("rate", "alex", "5|Sorted in ten minutes, thank you!"),
            ),
        ),
        RequestSpec(
            "demo-0002",
            "software-access",
            "alex",
            "Tableau for the quarterly pipeline review",
            {
                "application": "Tableau",
                "justification": "I build the quarterly pipeline dashboard for the sales team.",
            },
            then=(("approve", "sam", "Yes, Alex owns the pipeline review."),),
        ),
        RequestSpec(
            "demo-0003",
            "vpn-access",
            "alex",
            "VPN for the Lisbon customer visit",
            {
                "reason": "CRM and the sales intranet while visiting a customer.",
                "abroad": "yes",
                "countries": f"Portugal, {day(9)} to {day(12)}",
            },
            then=(
                ("comment", "ivan", "Portugal is fine. Is your laptop on the latest update?"),
                ("comment", "alex", "Yes, updated it this morning."),
            ),
        ),
        RequestSpec(
            "demo-0004",
            "desk-move",
            "alex",
            "Move closer to the sales team",
            {
                "from_location": "London HQ",
                "to_location": "London HQ",
                "move_date": day(7),
                "near": "sam",
            },
        ),
        RequestSpec(
            "demo-0005",
            "report-a-facilities-issue",
            "alex",
            "Radiator leaking by the window desks",
            {
                "office": "London HQ",
                "where": "3rd floor, window desks by the kitchen",
                "details": "Water is pooling under the radiator next to desk 3.14.",
                "urgency": "Stops me working",
            },
            then=(("comment", "fiona", "A plumber is booked for tomorrow at 09:00."),),
        ),
        RequestSpec(
            "demo-0006",
            "expense-claim",
            "alex",
            "Train to Manchester for the customer workshop",
            {
                "category": "Travel",
                "amount": "86.40",
                "spent_on": day(-3),
                "cost_centre": "CC-4100",
            },
        ),
        RequestSpec(
            "demo-0007",
            "parental-leave",
            "alex",
            "Paternity leave in the spring",
            {
                "leave_type": "Paternity",
                "due_date": day(120),
                "leave_start": day(120),
                "weeks": "2",
            },
        ),
        RequestSpec(
            "demo-0008",
            "monitor-and-peripherals",
            "alex",
            "Second monitor for home",
            {"items": ["27-inch monitor", "Dock"], "deliver_to": "My home"},
            then=(
                (
                    "reject",
                    "sam",
                    "We have spare monitors in the office store; ask Facilities for one.",
                ),
            ),
        ),
        RequestSpec(
            "demo-0009",
            "new-hire-onboarding",
            "sam",
            "Jordan Lee joins Sales as Account Executive",
            {
                "first_name": "Jordan",
                "last_name": "Lee",
                "start_date": day(21),
                "role": "Account Executive",
                "location": "London HQ",
                "laptop_needed": "yes",
                "laptop_model": "MacBook Air 13",
                "buddy": "alex",
            },
            then=(("approve", "erin", "Approved in the Q3 hiring plan."),),
        ),
        RequestSpec(
            "demo-0010",
            "new-hire-onboarding",
            "hana",
            "Priya Shah joins Facilities as Workplace Assistant",
            {
                "first_name": "Priya",
                "last_name": "Shah",
                "start_date": day(28),
                "role": "Workplace Assistant",
                "location": "Manchester",
                "laptop_needed": "no",
            },
            on_behalf_of="fred",
        ),
        RequestSpec(
            "demo-0011",
            "software-access",
            "ivan",
            "Jira for the service desk board",
            {
                "application": "Jira",
                "justification": "To track the laptop refresh project with the vendor.",
            },
            then=(
                ("approve", "iris", "Fine by me as your manager."),
                ("approve", "iris", "Licence available."),
            ),
        ),
        RequestSpec(
            "demo-0012",
            "employment-letter",
            "fiona",
            "Letter for my new flat",
            {
                "purpose": "Mortgage or rent",
                "addressed_to": "Northside Lettings",
                "include_salary": "yes",
            },
            then=(
                ("comment", "hana", "Drafted; sending it for signature this afternoon."),
                ("resolve", "hana", "Signed letter emailed to Fiona."),
                ("rate", "fiona", "4|Quick, but I had to ask twice for the salary line."),
            ),
        ),
        RequestSpec(
            "demo-0013",
            "team-budget-approval",
            "fred",
            "Two extra cleaners for the Manchester office",
            {
                "amount": "42000",
                "cost_centre": "CC-3200",
                "quarter": "Q3",
                "case": "Occupancy in Manchester doubled since January; cleaning complaints "
                "are the top facilities issue this quarter.",
            },
            then=(("approve", "fatima", "Approved from the Q3 contingency."),),
        ),
        RequestSpec(
            "demo-0014",
            "parking-permit-manchester",
            "felix",
            "Parking on office days",
            {"registration": "MA21 XYZ", "electric": "yes", "days": ["Tuesday", "Thursday"]},
        ),
        RequestSpec(
            "demo-0015",
            "report-an-it-problem",
            "alex",
            "Laptop fan very loud",
            {"affected": "Laptop", "details": "The fan runs at full speed in video calls."},
        ),
    ]


# --- Seeding ---------------------------------------------------------------------------------


class DemoDataError(RuntimeError):
    """The demo data itself is wrong (e.g. an answer the item's form refuses)."""


def _seed_catalog(departments: dict[str, Department], users: dict[str, Any]) -> None:
    categories = {
        slug: Category.objects.get_or_create(slug=slug, defaults={"name": name})[0]
        for slug, name in CATEGORIES.items()
    }
    services = {
        spec.slug: Service.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "outcome": spec.outcome,
                "department": departments[spec.department],
                "owner": users[spec.owner],
                "category": categories[spec.category],
            },
        )[0]
        for spec in SERVICES
    }
    policies = {}
    for name, (description, targets) in SLA_POLICIES.items():
        policy = SlaPolicy.objects.get_or_create(name=name, defaults={"description": description})[
            0
        ]
        for priority, (response, resolution) in targets.items():
            SlaTarget.objects.get_or_create(
                policy=policy,
                priority=priority,
                defaults={"response_minutes": response, "resolution_minutes": resolution},
            )
        policies[name] = policy
    locations = {location.slug: location for location in Location.objects.all()}

    for spec in ITEMS:
        item = CatalogItem.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "service": services[spec.service],
                "name": spec.name,
                "summary": spec.summary,
                "description": spec.description,
                "department": departments[spec.department],
                "expected_days": spec.expected_days,
                "default_priority": spec.priority,
                "sla_policy": policies[SLA_OF[spec.department]],
                "is_confidential": spec.is_confidential,
                "allow_on_behalf": spec.allow_on_behalf,
            },
        )[0]
        _seed_fields(item, spec.fields)
        for position, step in enumerate(spec.approvals, start=1):
            ApprovalStep.objects.get_or_create(
                item=item,
                position=position,
                defaults={
                    "approver": step.approver,
                    "department": departments[step.department] if step.department else None,
                    "role": step.role,
                    "person": users[step.person] if step.person else None,
                },
            )
        for kind, value in spec.entitlements:
            criterion: dict[str, Any] = {
                "department": departments[value] if kind == "department" else None,
                "location": locations[value] if kind == "location" else None,
                "role": value if kind == "role" else "",
            }
            Entitlement.objects.get_or_create(item=item, **criterion)


def _seed_fields(item: CatalogItem, fields: tuple[Field, ...]) -> None:
    by_key: dict[str, FormField] = {}
    for position, spec in enumerate(fields, start=1):
        controller = by_key[spec.show_when[0]] if spec.show_when else None
        by_key[spec.key] = FormField.objects.get_or_create(
            item=item,
            key=spec.key,
            defaults={
                "label": spec.label,
                "kind": spec.kind,
                "required": spec.required,
                "help_text": spec.help,
                "position": position * 10,
                "choices": "\n".join(spec.choices),
                "min_value": None if spec.min is None else Decimal(spec.min),
                "max_value": None if spec.max is None else Decimal(spec.max),
                "pattern": spec.pattern,
                "pattern_message": spec.pattern_message,
                "show_when_field": controller,
                "show_when_value": spec.show_when[1] if spec.show_when else "",
            },
        )[0]


def _seed_articles(departments: dict[str, Department], users: dict[str, Any]) -> None:
    items = {item.slug: item for item in CatalogItem.objects.filter(slug__in=_item_slugs())}
    for spec in ARTICLES:
        article, created = Article.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "title": spec.title,
                "body": spec.body,
                "department": departments[spec.department],
                "author": users[spec.author],
                "status": Article.Status.PUBLISHED if spec.published else Article.Status.DRAFT,
            },
        )
        if created:
            article.related_items.set([items[slug] for slug in spec.items])


def _item_slugs() -> list[str]:
    return [spec.slug for spec in ITEMS]


def _seed_requests(users: dict[str, Any]) -> None:
    items = {
        item.slug: item
        for item in CatalogItem.objects.filter(slug__in=_item_slugs()).prefetch_related("fields")
    }
    for spec in _requests(timezone.localdate()):
        raised_by = users[spec.raised_by]
        if ServiceRequest.objects.filter(raised_by=raised_by, submission_key=spec.key).exists():
            continue
        item = items[spec.item]
        data = {"subject": spec.subject, "submission_key": spec.key}
        data.update({f"field_{key}": value for key, value in spec.answers.items()})
        form = RequestForm(data=data, item=item)
        if not form.is_valid():
            raise DemoDataError(f"demo request {spec.key} ({item}): {form.errors.as_json()}")
        service_request, _ = actions.service_request_submit(
            item=item,
            raised_by=raised_by,
            requester=users[spec.on_behalf_of] if spec.on_behalf_of else None,
            subject=spec.subject,
            answers=form.answer_rows(),
            submission_key=spec.key,
        )
        for what, username, text in spec.then:
            _follow_up(service_request, what, users[username], text)


def _follow_up(service_request: ServiceRequest, what: str, user: Any, text: str) -> None:
    if what in ("approve", "reject"):
        approval = service_request.approvals.get(state=Approval.State.PENDING)
        actions.approval_decide(
            approval=approval, user=user, approve=what == "approve", comment=text
        )
    elif what == "comment":
        actions.comment_add(service_request=service_request, author=user, body=text)
    elif what == "resolve":
        actions.service_request_resolve(service_request=service_request, user=user, resolution=text)
    elif what == "rate":
        score, _, comment = text.partition("|")
        actions.service_request_rate(
            service_request=service_request, user=user, score=int(score), comment=comment
        )
    else:
        raise DemoDataError(f"unknown follow-up {what!r}")


def seed_app(*, history: bool = True) -> None:
    """Load the catalog, knowledge base, demo requests, the queues with (unless `history`
    is off) weeks of simulated work, then the fulfilment plans (after `esm.demo.seed()`).

    Plans come last: the simulated history is of plain queue work, and every request
    raised in the demo from then on runs its item's plan.
    """
    departments = {department.slug: department for department in Department.objects.all()}
    users = {user.username: user for user in User.objects.select_related("profile")}
    _seed_catalog(departments, users)
    _seed_articles(departments, users)
    _seed_requests(users)
    seed_queues(history=history)
    seed_desks()
    seed_directory_accounts()
    seed_plans()
