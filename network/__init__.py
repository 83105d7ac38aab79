"""Stakeholder network of the Münsterland health region (KommKom).

``create_app`` builds the Flask application; nothing heavy happens at import.
"""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing the package must not load Flask: the domain code runs without it
    from flask import Flask

__all__ = ["create_app"]

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_overrides: dict[str, Any] | type | None = None) -> Flask:
    """Application factory.

    Parameters
    ----------
    config_overrides : dict or class, optional
        A settings class (such as :class:`network.config.TestConfig`) replacing
        :class:`network.config.Config`, or a dict of settings applied on top of it.
    """
    from flask import Flask

    from network.config import Config

    config_class = config_overrides if isinstance(config_overrides, type) else Config
    settings = {k: getattr(config_class, k) for k in dir(config_class) if k.isupper()}
    if isinstance(config_overrides, dict):
        settings.update(config_overrides)
    Config.finalise(settings)

    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(settings)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_cli(app)

    from network import web

    web.init_app(app)
    if app.config.get("GC_FREEZE_AFTER_STARTUP"):
        gc.collect()
        gc.freeze()
    return app


def _configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("LOG_LEVEL", "INFO")).upper(), logging.INFO)
    app.logger.setLevel(level)


def _init_extensions(app: Flask) -> None:
    from network import models  # noqa: F401 - registers the tables with the metadata
    from network.extensions import babel, csrf, db, limiter, login_manager, mail, migrate
    from network.i18n import compile_catalogues, select_locale

    try:
        compile_catalogues()
    except OSError:  # a read-only installation ships the compiled catalogue
        app.logger.warning("could not compile the translation catalogues")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from network.auth.services import load_user

    login_manager.user_loader(load_user)

    from flask_babel import gettext
    from flask_babel import lazy_gettext as _l

    login_manager.localize_callback = lambda message: gettext(str(message))
    # Marked for extraction; Flask-Login translates it through localize_callback.
    login_manager.login_message = _l("Bitte melden Sie sich an, um diese Seite zu sehen.")


def _register_blueprints(app: Flask) -> None:
    from network.blueprints import BLUEPRINTS, import_optional

    for module_name in BLUEPRINTS:
        module = import_optional(module_name)
        if module is None:
            continue
        if not hasattr(module, "bp"):  # an area still being built
            app.logger.warning("%s defines no blueprint yet; skipped", module_name)
            continue
        app.register_blueprint(module.bp)


def _register_cli(app: Flask) -> None:
    from network.cli import register_commands

    register_commands(app)
