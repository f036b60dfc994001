"""The Gemini API's streamGenerateContent (alt=sse) as Google receives and sends it."""

from apps.engines.fakes import FAKE_API_KEY, Script
from apps.engines.tests.helpers import collect, error_of


def test_gemini_request_has_model_path_sse_key_header_and_model_role(make_fake):
    fake = make_fake("google")

    collect(fake.config(temperature=1.1, max_tokens=256))

    request = fake.last
    assert request.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert request.headers["x-goog-api-key"] == FAKE_API_KEY
    assert "authorization" not in request.headers
    assert FAKE_API_KEY not in request.path
    assert request.json == {
        "contents": [
            {"role": "user", "parts": [{"text": "What is a risk register?"}]},
            {"role": "model", "parts": [{"text": "A list of risks."}]},
            {"role": "user", "parts": [{"text": "And a control?"}]},
        ],
        "systemInstruction": {"parts": [{"text": "Answer briefly."}]},
        "generationConfig": {"temperature": 1.1, "maxOutputTokens": 256},
    }


def test_gemini_model_given_with_models_prefix_is_not_doubled(make_fake):
    fake = make_fake("google")

    collect(fake.config(model="models/gemini-2.5-flash"), instructions="")

    assert fake.last.url_path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert "systemInstruction" not in fake.last.json
    assert fake.last.json["generationConfig"] == {"temperature": 0.7}


def test_gemini_takes_the_last_cumulative_usage_snapshot(make_fake):
    fake = make_fake("google", script=Script(text="a b c d e f", input_tokens=40, cached_tokens=8))

    _deltas, finish = collect(fake.config())

    assert finish.provider_reason == "STOP"
    assert finish.usage.input_tokens == 40
    assert finish.usage.output_tokens == 6
    assert finish.usage.cached_tokens == 8
    assert finish.usage.estimated is False


def test_gemini_bad_key_400_is_an_auth_error(make_fake):
    fake = make_fake("google")

    error = error_of(fake.config(api_key="AIza-wrong"))

    assert error.kind == "auth"
    assert error.status == 400
    assert error.message == "API key not valid. Please pass a valid API key."


def test_gemini_quota_reads_retry_delay_from_retry_info(make_fake):
    fake = make_fake("google", script=Script(status=429, retry_after="17"))

    error = error_of(fake.config())

    assert error.kind == "rate_limited"
    assert error.retry_after == 17.0
    assert "quota" in error.message
