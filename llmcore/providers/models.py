"""Model names checked before a turn starts, for providers whose models are known.

A provider's models are known when ``providers.NAME.models`` lists them,
and for the local provider, which answers to its ``default_model`` label
(and ``models``) or a ``.gguf`` path. Cloud APIs add models all the time and
OpenAI-compatible servers serve anything, so their names are left to the
server unless ``models`` is configured. An unknown name is an error with a
"did you mean", never a label shown in the footer while another model answers.
"""

from __future__ import annotations

from llmcore.config.schema import ProviderSettings
from llmcore.config.suggest import did_you_mean
from llmcore.exceptions import InvalidRequestError

__all__ = ["check_model_name", "known_models"]


def known_models(name: str, settings: ProviderSettings) -> list[str] | None:
    """The model names provider ``name`` accepts, or ``None`` when any name may work."""
    if settings.models:
        return list(settings.models)
    if (settings.type or name) == "local":
        from llmcore.providers.local import default_model_name

        return [default_model_name(settings)]  # the label, or the model_path file's name
    return None


def check_model_name(name: str, settings: ProviderSettings, model: str) -> None:
    """Raise if ``model`` is not one of the known models of provider ``name``.

    Raises:
        InvalidRequestError: the provider's models are known and ``model`` is
            not one of them.
    """
    known = known_models(name, settings)
    if known is None or model in known:
        return
    if (settings.type or name) == "local" and model.endswith(".gguf"):
        return  # a model file of its own
    local = (settings.type or name) == "local"
    extra = (
        f" (a label for the GGUF file it runs; set providers.{name}.model_path to run another "
        "model, or give a .gguf path as the model)"
        if local
        else f" (providers.{name}.models lists them)"
    )
    raise InvalidRequestError(
        f"Provider {name!r} has no model {model!r}.{did_you_mean(model, known)} "
        f"Its models: {', '.join(known)}{extra}."
    )
