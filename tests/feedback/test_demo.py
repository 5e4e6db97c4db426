from feedback.demo import ANSWERS, seed_feedback
from feedback.models import FeedbackSettings, SurveyRequest, SurveyResponse
from tests.billing.factories import CustomerFactory


def test_demo_seeder_adds_a_year_of_answers_once(org):
    for n in range(3):
        CustomerFactory(organization=org, name=f"Demo {n}")
    seed_feedback(org)
    seed_feedback(org)  # a second `make run`
    assert FeedbackSettings.unscoped.filter(organization=org).count() == 1
    assert SurveyResponse.unscoped.filter(organization=org).count() == len(ANSWERS)
    assert SurveyRequest.unscoped.filter(organization=org, status="pending").count() == 1
    acted = SurveyResponse.unscoped.filter(organization=org, loop_status="acted")
    assert acted.count() == 2 and all(r.loop_note for r in acted)
