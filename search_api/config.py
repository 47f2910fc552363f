"""Server settings from NEWSSEARCH_* environment variables, loaded once per app."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSSEARCH_", frozen=True)

    index_dir: Path = Field(Path("index"), description="index directory built by `python -m indexer build`")
    models: tuple[str, ...] = Field(("use", "e5"), description="embedders to load: use, e5, st:<name-or-path>")
    embed_threads: int = Field(1, ge=1, le=64, description="threads per query embedding (concurrent requests "
                                                          "share the cores)")
    concurrent_searches: int = Field(4, ge=1, le=256, description="searches run at once; more requests wait "
                                     "their turn (each running search holds its own working memory)")
    per_article: int = Field(2, ge=1, le=100, description="at most this many passages per article in a result list")
    candidates: int = Field(100, ge=10, le=500, description="candidates each signal contributes before fusion "
                            "(search.MAX_CANDIDATES caps what k and filters can ask for)")
    api_key: str | None = Field(None, description="if set, every endpoint but /, /static, /health and the API docs "
                                "needs header X-API-Key (or Authorization: Bearer); /admin/reload needs it to exist")
    cors_origins: tuple[str, ...] = Field((), description="origins allowed to call the API from a browser")
    allowed_hosts: tuple[str, ...] = Field((), description="Host header values accepted (empty: any); guards a "
                                           "server on a private address against DNS rebinding")
    max_body_bytes: int = Field(16_384, ge=1024, description="largest request body accepted")
    qdrant_url: str | None = Field(None, description="Qdrant server for an index built with --store qdrant "
                                                     "(default: the URL recorded in the manifest)")
    watch_index: bool = Field(True, description="pick up a rebuilt index without a restart")
    public_url: str | None = Field(None, description="the server's address as clients reach it (e.g. "
                                   "https://news.example.org/search): makes citation URLs absolute for articles "
                                   "without an http(s) address of their own; unset, the request's base URL is used")

    @field_validator("public_url")
    @classmethod
    def public_url_is_http(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")) or any(c in value for c in " \t\n?#"):
            raise ValueError(f"NEWSSEARCH_PUBLIC_URL must be an http(s) URL without query or fragment, got {value!r}")
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
