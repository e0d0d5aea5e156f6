"""The LoGo Chat-style webhook payload (DESIGN.md), validated with pydantic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints, model_validator

# An id holds no control character: none names anything, and PostgreSQL refuses a NUL in the
# event and workspace ids the delivery is recorded under.
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Id = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=_NO_CONTROL),
]
# Message and command text is bounded by the body's size alone: a message too long to be a
# question is still answered, with the limit (``validate_question``), not refused unseen.


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        # Gateways send JSON null for an optional field they have no value for (no display
        # name, no text): it means absent. A refused delivery drops the question unseen, as
        # LoGo shows no webhook error; a required field sent as null is still refused.
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {
            k: v
            for k, v in data.items()
            if v is not None or k not in fields or fields[k].is_required()
        }


class LogoUser(_Model):
    """The sender."""

    id: Id
    display_name: str = Field(default="", max_length=200)


class LogoMention(_Model):
    """A user mentioned in the message."""

    user_id: Id


class LogoFile(_Model):
    """A file attached to the message."""

    file_id: Id
    name: str = Field(max_length=500)
    mime_type: str = Field(default="", max_length=200)
    size: int = Field(default=0, ge=0)
    download_url: AnyHttpUrl | None = None


class LogoMessage(_Model):
    """The message of a ``message`` or ``mention`` event."""

    id: Id
    text: str = ""
    mentions: list[LogoMention] = Field(default_factory=list, max_length=100)
    files: list[LogoFile] = Field(default_factory=list, max_length=20)


class LogoCommand(_Model):
    """The command of a ``command`` event (``/baibain help`` → name ``baibain``, text ``help``)."""

    name: str = Field(min_length=1, max_length=100)
    text: str = ""


class LogoEvent(_Model):
    """One webhook delivery."""

    event_id: Id
    type: Literal["message", "mention", "command"]
    org_id: Id
    talk_id: Id
    thread_id: Annotated[str, StringConstraints(max_length=255, pattern=_NO_CONTROL)] | None = None
    user: LogoUser
    message: LogoMessage | None = None
    command: LogoCommand | None = None
    reply_url: AnyHttpUrl

    @model_validator(mode="after")
    def _body_matches_type(self) -> LogoEvent:
        if self.type == "command" and self.command is None:
            raise ValueError("command is required for type command")
        if self.type != "command" and self.message is None:
            raise ValueError("message is required for type message and mention")
        return self
