"""Sign-in for the web app: sessions, API tokens, CSRF, login rate limits, account pages.

* **Sessions** (Flask-Login): ``/login`` asks for the org, the user name and the password;
  ``/logout`` is a POST. The session cookie is HttpOnly, SameSite=Lax, Secure when
  ``SECURE_COOKIES`` is true, and lasts ``SESSION_HOURS``. A password change ends the user's
  other sessions; deactivating a user or an org ends all of them at the next request.
* **API tokens**: ``Authorization: Bearer tsr_...``. A request that carries an
  ``Authorization`` header is authenticated by it alone (its session cookie is ignored), and
  needs no CSRF token: a browser never adds that header to a cross-site request.
* **CSRF** (Flask-WTF): every POST, PUT, PATCH and DELETE made with the session carries the
  token, as the form field ``csrf_token`` or the ``X-CSRFToken`` header (htmx sends it from
  ``hx-headers`` on ``<body>``, see base.html); without it the answer is 400.
* **Rate limits** (Flask-Limiter): failed logins, ``LOGIN_RATE_LIMIT`` (10 per minute) per
  client address and per org + user name; then 429. Counters live in Redis when
  ``REDIS_URL`` (or a ``redis://`` ``BROKER_URL``) is set, else in the process's memory.

Other parts use :func:`current_actor` (the :class:`~tessera.records.service.Actor` of the
signed-in user or token, or None) and :func:`login_required_actor`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from tessera.i18n import current_locale
from tessera.records.service import Actor

from .errors import PASSWORD_WRONG, PASSWORDS_DIFFER, IdentityError
from .store import PlatformStore, TokenInfo, User

log = logging.getLogger(__name__)

STORE_KEY = "tessera.platform"
LIMITER_KEY = "tessera.limiter"

#: the settings this module reads, with their defaults (TESSERA_<NAME> overrides each)
SETTINGS: dict[str, Any] = {
    # mark the session cookie Secure (HTTPS only); off so `make run` works over http://127.0.0.1
    "SECURE_COOKIES": False,
    # how long a session lasts without signing in again
    "SESSION_HOURS": 12,
    # failed logins allowed per client address and per org + user name
    "LOGIN_RATE_LIMIT": "10 per minute",
    # Redis for the rate-limit counters (else BROKER_URL if it is redis://, else memory)
    "REDIS_URL": "",
    # how many reverse proxies in front set X-Forwarded-For/-Proto (0: none, trust no header)
    "PROXY_COUNT": 0,
}

F = TypeVar("F", bound=Callable[..., Any])


# ------------------------------------------------------------------------------ who is signed in

class SignedIn:
    """The signed-in user as Flask-Login sees it; ``token`` is set for API-token requests."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, user: User, token: TokenInfo | None = None) -> None:
        self.user = user
        self.token = token

    @property
    def is_active(self) -> bool:
        return self.user.active

    def get_id(self) -> str:
        # the stamp changes with the password, so a password change ends every other session
        return f"{self.user.id}:{self.user.session_stamp}"

    @property
    def actor(self) -> Actor:
        return self.user.actor()


def current_actor() -> Actor | None:
    """The Actor of the signed-in user (session or API token), or None."""
    signed_in = current_signed_in()
    return signed_in.actor if signed_in is not None else None


def current_signed_in() -> SignedIn | None:
    if not has_request_context() or not hasattr(current_app, "login_manager"):
        return None
    if _has_bearer(request):
        # a token answers for itself (as Flask-Login's request loader would find): asked
        # directly, it skips the session protection that hashes the client's address and
        # agent on every request, for a request that has no session to protect
        if "tessera_token_user" not in g:
            g.tessera_token_user = _load_token_user(request)
        return g.tessera_token_user
    user = current_user._get_current_object()
    return user if isinstance(user, SignedIn) else None


def login_required_actor(view: F) -> F:
    """Let only signed-in users (session or token) through; sets ``g.actor``. Others are sent
    to /login (pages), or get 401 (API and htmx requests)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        actor = current_actor()
        if actor is None:
            return current_app.login_manager.unauthorized()
        g.actor = actor
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def platform_store() -> PlatformStore:
    return current_app.extensions[STORE_KEY]


# ------------------------------------------------------------------------------ wiring

def init_app(app: Flask, store: PlatformStore) -> None:
    """Add sessions, API tokens, CSRF, login rate limits and the auth pages to ``app``."""
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    hours = float(app.config["SESSION_HOURS"])
    app.config.update(
        SESSION_COOKIE_NAME="tessera_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=as_bool(app.config["SECURE_COOKIES"]),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=hours),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=as_bool(app.config["SECURE_COOKIES"]),
        WTF_CSRF_TIME_LIMIT=None,  # a token is good for as long as its session
    )
    proxies = int(app.config["PROXY_COUNT"] or 0)
    if proxies > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.extensions[STORE_KEY] = store

    app.session_interface = _BearerSessions()
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.user_loader(_load_session_user)
    manager.request_loader(_load_token_user)
    manager.unauthorized_handler(_unauthorized)
    manager.init_app(app)

    _BearerAwareCSRF(app)
    app.register_error_handler(CSRFError, _csrf_failed)

    # a moving window: ten failures are ten failures, however they straddle a minute boundary
    hooks_before = {name: list(getattr(app, name).get(None, [])) for name in _APP_HOOKS}
    limiter = Limiter(get_remote_address, app=app, storage_uri=rate_limit_storage(app.config),
                      strategy=str(app.config.get("RATELIMIT_STRATEGY") or "moving-window"),
                      default_limits=[], headers_enabled=True, in_memory_fallback_enabled=True,
                      key_prefix=str(app.config.get("RATELIMIT_KEY_PREFIX") or "tessera"))
    # Every limit here is a route decorator on the sign-in pages, which checks itself when its
    # view runs. The limiter's app-wide hooks serve default and application limits (none are
    # set) and the headers of the limits a request met: its before_request hook goes, and its
    # other hooks run only for the blueprint that has limits. They cost a fifth of a
    # millisecond on every request, API calls included.
    for name in _APP_HOOKS:
        hooks = getattr(app, name).get(None, [])
        getattr(app, name)[None] = [
            hook if hook in hooks_before[name] else _only_for_limited(hook, name)
            for hook in hooks if hook != limiter._check_request_limit]
    app.extensions[LIMITER_KEY] = limiter
    app.register_blueprint(_auth_blueprint(limiter))


_APP_HOOKS = ("before_request_funcs", "after_request_funcs", "teardown_request_funcs")
#: the blueprint whose views carry rate limits (_auth_blueprint)
_LIMITED_BLUEPRINT = "auth"


def _only_for_limited(hook: Callable[..., Any], kind: str) -> Callable[..., Any]:
    """``hook`` of the limiter, run only for requests to the blueprint that has limits."""
    @wraps(hook)
    def run(*args: Any) -> Any:
        if request.blueprint == _LIMITED_BLUEPRINT:
            return hook(*args)
        return args[0] if kind == "after_request_funcs" else None  # the response goes on as it was

    return run


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def rate_limit_storage(settings: dict[str, Any]) -> str:
    """Where login counters live: REDIS_URL, else a Redis BROKER_URL, else memory."""
    for key in ("REDIS_URL", "BROKER_URL"):
        url = str(settings.get(key) or "")
        if url.startswith(("redis://", "rediss://", "redis+unix://")):
            return url
    return "memory://"


def _authorization() -> str | None:
    return request.headers.get("Authorization") if has_request_context() else None


def _bearer_token() -> str | None:
    header = _authorization()
    if not header:
        return None
    scheme, _sep, credentials = header.partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def _load_session_user(session_id: str) -> SignedIn | None:
    if _authorization() is not None:
        return None  # a request with its own credentials is judged by them alone
    user_id, _sep, stamp = str(session_id).partition(":")
    user = platform_store().active_user(user_id) if user_id.isdigit() else None
    if user is None or user.session_stamp != stamp:
        return None
    return SignedIn(user)


def _load_token_user(req: Any) -> SignedIn | None:
    token = _bearer_token()
    if not token:
        return None
    found = platform_store().resolve_token(token)
    if found is None:
        log.info("refused an unknown, revoked or inactive API token")
        return None
    user, info = found
    return SignedIn(user, token=info)


class _BearerSessions(SecureCookieSessionInterface):
    """A request with a bearer token has no session: its cookie is neither read (verifying
    the signature costs on every API call) nor written, whatever it carries."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if _has_bearer(request):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if _has_bearer(request):
            return None
        return super().save_session(app, session, response)


def _has_bearer(req: Request) -> bool:
    return req.headers.get("Authorization", "")[:7].lower() == "bearer "


class _BearerAwareCSRF(CSRFProtect):
    """CSRF checks for requests made with the session; token requests carry no cookie
    credentials (their session is ignored), so there is nothing to forge."""

    def protect(self, apply_exemptions: bool = False) -> None:
        if _authorization() is not None and _bearer_token() is not None:
            return None
        return super().protect(apply_exemptions=apply_exemptions)


def _wants_json() -> bool:
    if _authorization() is not None or request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "application/problem+json"])
    return best in ("application/json", "application/problem+json")


def _problem(status: int, title: str, detail: str) -> Response:
    response = jsonify(type="about:blank", title=title, status=status, detail=detail)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _unauthorized() -> Response:
    if _wants_json():
        response = _problem(401, "Unauthorized", _("Sign in, or send an API token as Authorization: Bearer <token>."))
        response.headers["WWW-Authenticate"] = 'Bearer realm="tessera"'
        return response
    login = url_for("auth.login", next=_next_of_request())
    if request.headers.get("HX-Request"):
        response = Response(status=401)
        response.headers["HX-Redirect"] = login
        return response
    flash(_("Please sign in to see this page."), "info")
    return redirect(login)


def _next_of_request() -> str:
    path = request.full_path if request.query_string else request.path
    return path if request.method == "GET" else "/"


def _csrf_failed(error: CSRFError) -> Any:
    detail = _("This form has expired or did not come from this site. Reload the page and try again.")
    if _wants_json():
        return _problem(400, "Bad Request", detail)
    return render_template("auth/error.html", title=_("The form could not be sent"), detail=detail), 400


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# ------------------------------------------------------------------------------ the pages

def _auth_blueprint(limiter: Limiter) -> Blueprint:
    """The blueprint is built per app: its login limits belong to that app's limiter."""
    bp = Blueprint(_LIMITED_BLUEPRINT, __name__)

    def login_limit() -> str:
        return str(current_app.config["LOGIN_RATE_LIMIT"])

    def login_key() -> str:
        org = (request.form.get("org") or "").strip().lower()[:40]
        username = (request.form.get("username") or "").strip().lower()[:64]
        return f"login:{org}:{username}"

    def failed(response: Response) -> bool:
        return response.status_code != 303  # only failed attempts count

    @bp.app_template_filter("user_time")
    def user_time(value: dt.datetime | None) -> str:
        """A time in the signed-in user's time zone and locale."""
        if value is None:
            return "—"
        from babel.dates import format_datetime

        who = current_signed_in()
        zone = ZoneInfo(who.user.time_zone) if who else dt.UTC
        return format_datetime(value.astimezone(zone), "medium", locale=current_locale().replace("-", "_"))

    @bp.route("/login", methods=["GET", "POST"])
    @limiter.limit(login_limit, methods=["POST"], deduct_when=failed)
    @limiter.limit(login_limit, key_func=login_key, methods=["POST"], deduct_when=failed)
    def login() -> Any:
        next_url = safe_next(request.values.get("next"))
        form = {"org": (request.form.get("org") or "default").strip().lower(),
                "username": (request.form.get("username") or "").strip()}
        if request.method == "GET":
            return render_template("auth/login.html", form=form, next_url=next_url, error=None)
        password = request.form.get("password") or ""
        if not (form["org"] and form["username"] and password):
            error = _("Enter your org, your user name and your password.")
            return render_template("auth/login.html", form=form, next_url=next_url, error=error), 401
        user = platform_store().authenticate(form["org"], form["username"], password)
        if user is None:
            log.info("failed login for org %r", form["org"])  # the user name may be a password typed in the wrong box
            error = _("The org, the user name or the password is wrong.")
            return render_template("auth/login.html", form=form, next_url=next_url, error=error), 401
        session.clear()  # a fresh session for the signed-in user
        login_user(SignedIn(user))
        session.permanent = True
        log.info("user %s of org %s signed in", user.id, user.org)
        return redirect(next_url, code=303)

    @bp.errorhandler(429)
    def too_many(error: Any) -> Any:
        form = {"org": (request.form.get("org") or "default").strip().lower(),
                "username": (request.form.get("username") or "").strip()}
        message = _("Too many failed sign-ins. Wait a minute and try again.")
        if _wants_json():
            return _problem(429, "Too Many Requests", message)
        response = current_app.make_response(
            (render_template("auth/login.html", form=form, next_url=safe_next(request.values.get("next")),
                             error=message), 429))
        retry = getattr(error, "retry_after", None)
        if retry:
            response.headers["Retry-After"] = str(retry)
        return response

    @bp.post("/logout")
    def logout() -> Any:
        who = current_signed_in()
        if who is not None and who.token is None:
            log.info("user %s of org %s signed out", who.user.id, who.user.org)
        logout_user()
        session.clear()
        return redirect(url_for("auth.login"), code=303)

    def session_only(view: F) -> F:
        """Account pages need a signed-in session: an API token cannot change the password
        or mint more tokens (a leaked token must not outlive its revocation)."""

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = current_signed_in()
            if who is None or who.token is not None:
                return current_app.login_manager.unauthorized()
            return view(who, *args, **kwargs)

        return wrapper  # type: ignore[return-value]

    @bp.route("/account/password", methods=["GET", "POST"])
    @session_only
    def password(who: SignedIn) -> Any:
        if request.method == "GET":
            return render_template("auth/password.html", errors={})
        store = platform_store()
        current = request.form.get("current_password") or ""
        new = request.form.get("new_password") or ""
        again = request.form.get("new_password_again") or ""
        errors: dict[str, str] = {}
        if not store.verify_password(who.user, current):
            errors["current_password"] = IdentityError(PASSWORD_WRONG).message(current_locale())
        elif new != again:
            errors["new_password_again"] = IdentityError(PASSWORDS_DIFFER).message(current_locale())
        else:
            try:
                user = store.set_password(who.user, new)
            except IdentityError as exc:
                errors["new_password"] = exc.message(current_locale())
            else:
                login_user(SignedIn(user))  # this session carries on with the new stamp
                session.permanent = True
                log.info("user %s of org %s changed their password", user.id, user.org)
                flash(_("Your password has been changed. Other sessions have been signed out."), "success")
                return redirect(url_for("auth.password"), code=303)
        return render_template("auth/password.html", errors=errors), 400

    @bp.route("/account/tokens", methods=["GET", "POST"])
    @session_only
    def tokens(who: SignedIn) -> Any:
        store = platform_store()
        created: tuple[str, TokenInfo] | None = None
        error = None
        status = 200
        if request.method == "POST":
            try:
                created = store.create_token(who.user, request.form.get("name") or "")
                log.info("user %s of org %s created API token %s", who.user.id, who.user.org, created[1].id)
                status = 201
            except IdentityError as exc:
                error, status = exc.message(current_locale()), 400
        response = current_app.make_response((render_template(
            "auth/tokens.html", tokens=store.tokens(who.user), created=created, error=error,
            name=request.form.get("name", "") if error else ""), status))
        response.headers["Cache-Control"] = "no-store"  # the new token is on this page, once
        return response

    @bp.post("/account/tokens/<int:token_id>/revoke")
    @session_only
    def revoke(who: SignedIn, token_id: int) -> Any:
        try:
            info = platform_store().revoke_token(who.user, token_id)
        except IdentityError as exc:
            flash(exc.message(current_locale()), "error")
        else:
            log.info("user %s of org %s revoked API token %s", who.user.id, who.user.org, info.id)
            flash(_("The token %(name)s has been revoked.", name=info.name), "success")
        return redirect(url_for("auth.tokens"), code=303)

    return bp
