"""Admin forms of agents, company settings and templates.

Each engine's settings are separate form fields (``openai_model``, ``azure_openai_base_url``, …) grouped in one
fieldset per engine; a static script shows only the chosen engine's fieldset, and ``clean`` reads only the chosen
engine's fields (whatever else the browser sent is ignored, and the agent's other engine settings are cleared).
Keys are write-only: the inputs never render a stored value; an empty input keeps the stored key.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.agents.engine_fields import (
    ENGINE_FIELDS,
    ENGINE_LABELS,
    SECRET_ATTRS,
    TEMPLATE_ENGINE_ATTRS,
    EngineField,
    credential_fields,
)
from apps.agents.models import Agent, AgentFile, AgentTemplate, CompanyProfile, ProviderCredential
from apps.agents.services import agent_settings_errors, credential_settings_errors
from apps.companies.admin import CompanyScopedForm
from apps.companies.models import time_zone_choices
from apps.core.encryption import mask


def engine_slug(engine: str) -> str:
    return engine.replace("-", "_")


def field_name(engine: str, attr: str) -> str:
    return f"{engine_slug(engine)}_{attr}"


def clear_name(engine: str) -> str:
    return f"{engine_slug(engine)}_clear_keys"


def _form_field(spec: EngineField, stored: str = "") -> forms.Field:
    if spec.secret:
        hint = f"Stored: {mask(stored)}. Leave empty to keep it. " if stored else "None stored. "
        return forms.CharField(
            label=spec.label,
            required=False,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password", "size": 50}),
            help_text=hint + spec.help,
        )
    widget = forms.URLInput(attrs={"size": 60}) if spec.name == "base_url" else forms.TextInput(attrs={"size": 40})
    return forms.CharField(label=spec.label, required=False, max_length=500, help_text=spec.help, widget=widget)


class EngineFieldsMixin:
    """Adds one field per (engine, setting) and reads back the chosen engine's values."""

    engine_specs: dict[str, tuple[EngineField, ...]] = ENGINE_FIELDS
    with_clear_keys = True

    def add_engine_fields(self, stored: object | None) -> None:
        stored_engine = getattr(stored, "engine", None)
        for engine, specs in self.engine_specs.items():
            has_secret = False
            for spec in specs:
                value = getattr(stored, spec.name, "") if stored is not None and stored_engine == engine else ""
                self.fields[field_name(engine, spec.name)] = _form_field(spec, value if spec.secret else "")
                if not spec.secret and value and not self.is_bound:
                    self.initial[field_name(engine, spec.name)] = value
                has_secret = has_secret or (spec.secret and bool(value))
            if self.with_clear_keys and has_secret:
                self.fields[clear_name(engine)] = forms.BooleanField(
                    label="Remove the stored keys",
                    required=False,
                    help_text="Tick to delete this engine's stored keys (the company's provider settings then apply).",
                )

    def engine_values(self, engine: str) -> dict:
        """The chosen engine's values: text as typed; secrets None (keep), "" (remove) or the new value."""
        data = self.cleaned_data
        values = {}
        clear = data.get(clear_name(engine), False)
        for spec in self.engine_specs.get(engine, ()):
            value = (data.get(field_name(engine, spec.name)) or "").strip()
            if spec.secret:
                values[spec.name] = value if value else ("" if clear else None)
            else:
                values[spec.name] = value
        return values

    def engine_error_field(self, engine: str, attr: str) -> str | None:
        if attr in self.fields:
            return attr
        name = field_name(engine, attr)
        return name if name in self.fields else None

    def add_errors(self, engine: str, errors: dict[str, list[str]]) -> None:
        for attr, messages in errors.items():
            target = self.engine_error_field(engine, attr) if attr != "__all__" else None
            for message in messages:
                self.add_error(target, message)


def engine_fieldsets(specs: dict[str, tuple[EngineField, ...]], *, clear_keys: set[str] = frozenset()) -> list:
    """One fieldset per engine, marked for the script that shows only the chosen one."""
    fieldsets = []
    for engine, fields in specs.items():
        names = [field_name(engine, spec.name) for spec in fields]
        if engine in clear_keys:
            names.append(clear_name(engine))
        fieldsets.append(
            (
                f"Engine properties: {ENGINE_LABELS[engine]}",
                {"fields": names, "classes": ["engine-fields", f"engine-{engine}"]},
            )
        )
    return fieldsets


def engines_with_stored_keys(obj) -> set[str]:
    if obj is None or not any(getattr(obj, attr, "") for attr in SECRET_ATTRS):
        return set()
    return {obj.engine}


# --- agents ------------------------------------------------------------------------------------------------------

AGENT_MODEL_FIELDS = [
    "name",
    "description",
    "instructions",
    "greeting",
    "greeting_description",
    "suggested_prompts",
    "image",
    "is_active",
    "engine",
    "max_messages",
    "temperature",
    "max_tokens",
    "input_price_per_million",
    "output_price_per_million",
]


class AgentForm(EngineFieldsMixin, CompanyScopedForm):
    class Meta:
        model = Agent
        fields = AGENT_MODEL_FIELDS
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "instructions": forms.Textarea(attrs={"rows": 6, "cols": 80}),
            "greeting_description": forms.Textarea(attrs={"rows": 2, "cols": 80}),
            "suggested_prompts": forms.Textarea(attrs={"rows": 3, "cols": 80}),
            "greeting": forms.TextInput(attrs={"size": 80}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engine"].widget.attrs["data-engine-select"] = "1"
        self.fields["engine"].help_text = "The LLM provider; only its properties are shown below."
        self.add_engine_fields(self.instance if self.instance.pk else None)

    def clean(self):
        data = super().clean()
        engine = data.get("engine")
        if not engine:
            return data
        company = self.target_company()
        values = {name: data.get(name) for name in AGENT_MODEL_FIELDS if name not in ("image", "is_active")}
        values.update(self.engine_values(engine))
        check = dict(values)
        for attr in SECRET_ATTRS:
            if check.get(attr) is None:  # kept: validate with the stored key
                check[attr] = getattr(self.instance, attr, "") if self.instance.engine == engine else ""
        errors = agent_settings_errors(check, company=company, require_key=self.instance.pk is None)
        errors = {attr: msgs for attr, msgs in errors.items() if attr not in self.errors}
        self.add_errors(engine, errors)
        self.agent_values = values
        return data


class AgentFileForm(forms.ModelForm):
    class Meta:
        model = AgentFile
        fields = ["file"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].required = False
        if self.instance.pk is not None:
            self.fields["file"].disabled = True
            self.fields["file"].widget = forms.HiddenInput()

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if self.instance.pk is not None or not upload:
            return upload
        limit = settings.AGENT_FILE_MAX_BYTES
        if upload.size == 0:
            raise ValidationError("The file is empty.")
        if upload.size > limit:
            raise ValidationError(f"The file is larger than {limit // (1024 * 1024)} MB.")
        return upload


# --- templates -----------------------------------------------------------------------------------------------------

TEMPLATE_SPECS = {
    engine: tuple(spec for spec in specs if spec.name in TEMPLATE_ENGINE_ATTRS)
    for engine, specs in ENGINE_FIELDS.items()
}
TEMPLATE_MODEL_FIELDS = [name for name in AGENT_MODEL_FIELDS if name not in ("image", "is_active")]


class AgentTemplateForm(EngineFieldsMixin, forms.ModelForm):
    engine_specs = TEMPLATE_SPECS
    with_clear_keys = False

    class Meta:
        model = AgentTemplate
        fields = TEMPLATE_MODEL_FIELDS
        widgets = AgentForm.Meta.widgets

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["engine"].widget.attrs["data-engine-select"] = "1"
        self.add_engine_fields(self.instance if self.instance.pk else None)

    def clean(self):
        data = super().clean()
        engine = data.get("engine")
        if not engine:
            return data
        values = {name: data.get(name) for name in TEMPLATE_MODEL_FIELDS}
        values.update(self.engine_values(engine))
        errors = agent_settings_errors(dict(values), company=None, template=True)
        self.add_errors(engine, {attr: msgs for attr, msgs in errors.items() if attr not in self.errors})
        self.template_values = values
        return data


# --- company settings ----------------------------------------------------------------------------------------------


class CompanyProfileForm(CompanyScopedForm):
    name = forms.CharField(max_length=200, help_text="The company's display name.")
    logo = forms.FileField(
        required=False, help_text="PNG, JPEG, GIF or WebP, at most 2 MB; shown in the portal's header."
    )
    contact_email = forms.EmailField(required=False, help_text="Where people reach the company about AIRisk.")
    time_zone = forms.ChoiceField(
        choices=time_zone_choices, help_text="Dates on the company's pages, reports and alerts use this time zone."
    )

    class Meta:
        model = CompanyProfile
        fields = ["default_agent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        company = self.instance.company
        self.fields["logo"].widget = forms.ClearableFileInput()
        if not self.is_bound:
            self.initial.update(
                name=company.name, logo=company.logo, contact_email=company.contact_email, time_zone=company.time_zone
            )
        agents = self.fields["default_agent"]
        agents.queryset = Agent.objects.for_company(company).usable().order_by("name")
        agents.help_text = "The agent of users who have no default of their own (when they may use it)."

    def clean_logo(self):
        from apps.core.validators import validate_image_upload

        logo = self.cleaned_data.get("logo")
        if logo:
            validate_image_upload(logo)
        return logo


class ProviderCredentialForm(EngineFieldsMixin, CompanyScopedForm):
    engine_specs = {engine: credential_fields(engine) for engine in ENGINE_FIELDS}

    class Meta:
        model = ProviderCredential
        fields = ["engine"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        engine = self.fields["engine"]
        if self.instance.pk is not None:
            engine.disabled = True  # a company has one set per engine: delete it and add another instead
            engine.help_text = "Fixed once saved."
        else:
            engine.widget.attrs["data-engine-select"] = "1"
            engine.help_text = "One set of settings per engine."
        self.add_engine_fields(self.instance if self.instance.pk else None)

    def clean(self):
        data = super().clean()
        engine = data.get("engine") or self.instance.engine
        if not engine:
            return data
        company = self.target_company()
        if (
            self.instance.pk is None
            and company is not None
            and ProviderCredential.objects.for_company(company).filter(engine=engine).exists()
        ):
            self.add_error("engine", f"The company already has settings for {ENGINE_LABELS[engine]}; edit them.")
        self.credential_values = self.engine_values(engine)
        values = dict(self.credential_values)
        if engine == "bedrock":
            for attr in ("access_key_id", "secret_access_key"):
                if values.get(attr) is None:
                    values[attr] = getattr(self.instance, attr, "")
            if bool(values.get("access_key_id")) != bool(values.get("secret_access_key")):
                self.add_error(
                    field_name(engine, "access_key_id"), "Give the access key id and the secret access key together."
                )
        self.add_errors(engine, credential_settings_errors(engine, values))
        return data
