"""`keyart keys create|list|revoke` (API keys) and `keyart state upgrade` (migrations)."""

from __future__ import annotations

import argparse
from pathlib import Path

from keyart.config import ApiSettings
from keyart.errors import ConfigError


def add_arguments(keys: argparse.ArgumentParser) -> None:
    """The `keys` actions and their flags."""
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = ksub.add_parser(
        "create",
        help="create a key; its secret is the LAST line printed",
        epilog="examples:\n  keyart keys create --name partner-tool\n"
        "  keyart keys create --name ops --scope admin --warehouse WH",
    )
    create.add_argument("--name", required=True, help="who the key is for (unique among active)")
    create.add_argument(
        "--scope",
        choices=["read", "admin"],
        default="read",
        help="read: every data field; admin: also admin fields such as apiKeys (default read)",
    )
    listing = ksub.add_parser(
        "list",
        help="list keys (never their secrets)",
        epilog="examples:\n  keyart keys list\n  keyart keys list --all --warehouse WH",
    )
    listing.add_argument("--all", action="store_true", help="include revoked keys")
    revoke = ksub.add_parser(
        "revoke",
        help="revoke a key (servers refuse it within seconds)",
        epilog="examples:\n  keyart keys revoke partner-tool",
    )
    revoke.add_argument("key", help="name or id of the active key to revoke")
    for action in (create, listing, revoke):
        _store_arguments(action)


def add_state_arguments(state: argparse.ArgumentParser) -> None:
    """The `state` actions: `upgrade` applies pending migrations and prints the revision."""
    ssub = state.add_subparsers(dest="state_command", required=True, metavar="ACTION")
    upgrade = ssub.add_parser(
        "upgrade",
        help="apply pending migrations now (servers and `keyart keys` also do it on open)",
        epilog="examples:\n  keyart state upgrade --warehouse .data/warehouse\n"
        "  keyart state upgrade --state-url postgresql://keyart@db/keyart",
    )
    _store_arguments(upgrade)


def state_main(args: argparse.Namespace) -> int:
    """Run `keyart state upgrade`."""
    from keyart.state.store import StateStore, redacted

    url = _url(args)
    store = StateStore.open(url)
    try:
        print(f"state store {redacted(url)} is at revision {store.revision()}")
    finally:
        store.close()
    return 0


def _url(args: argparse.Namespace) -> str:
    """The state store URL of the flags and KEYART_* variables; a warehouse that does not
    exist is an error (a typo must not create a new, empty key store)."""
    from keyart.state.store import state_url

    settings = ApiSettings.from_env().with_overrides(
        warehouse=args.warehouse, state_url=args.state_url
    )
    if not settings.state_url and not settings.warehouse.is_dir():
        raise ConfigError(
            f"warehouse {settings.warehouse} does not exist: pass the warehouse the server "
            "serves (--warehouse) or a --state-url"
        )
    return state_url(settings.warehouse, settings.state_url)


def _store_arguments(action: argparse.ArgumentParser) -> None:
    action.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help="warehouse whose state.sqlite3 is the state store "
        "(default: KEYART_WAREHOUSE, else .data/warehouse)",
    )
    action.add_argument(
        "--state-url",
        default=None,
        help="postgresql://… state store instead of the warehouse's SQLite file "
        "(default: KEYART_STATE_URL)",
    )


def main(args: argparse.Namespace) -> int:
    """Run one `keyart keys` action."""
    # imported here: `keyart --help` builds this parser and must not load SQLAlchemy
    from keyart.state.keys import KeyStore
    from keyart.state.store import StateStore

    store = StateStore.open(_url(args))
    try:
        keys = KeyStore(store)
        if args.keys_command == "create":
            key, token = keys.create(args.name, args.scope)
            print(f"created {key.scope} key {key.name!r} (id {key.id}); its secret, shown once:")
            print(token)
        elif args.keys_command == "list":
            listed = keys.list(include_revoked=args.all)
            print(f"{'id':16}  {'scope':5}  {'created (UTC)':19}  {'revoked (UTC)':19}  name")
            for k in listed:
                revoked = "-" if k.revoked_at is None else f"{k.revoked_at:%Y-%m-%d %H:%M:%S}"
                created = f"{k.created_at:%Y-%m-%d %H:%M:%S}"
                print(f"{k.id:16}  {k.scope:5}  {created:19}  {revoked:19}  {k.name}")
        else:
            key = keys.revoke(args.key)
            print(f"revoked key {key.name!r} (id {key.id})")
    finally:
        store.close()
    return 0


__all__ = ["add_arguments", "add_state_arguments", "main", "state_main"]
