# oauthd container image: a cached dependency build, then a minimal non-root runtime.
#   docker build -t oauthd .        (or podman; see scripts/container-check.sh)
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, against a dummy crate: this layer is rebuilt only when Cargo.toml or
# Cargo.lock change, not on every source edit.
COPY Cargo.toml Cargo.lock ./
# The manifest names a bench target (benches/load.rs, the load generator): a stub keeps it
# parseable here and below, where the real one is not needed.
RUN mkdir src benches \
 && echo 'fn main() {}' > src/main.rs \
 && echo 'fn main() {}' > benches/load.rs \
 && touch src/lib.rs \
 && cargo build --release --locked \
 && rm -rf src target/release/oauthd target/release/deps/oauthd-* target/release/deps/liboauthd-* \
           target/release/.fingerprint/oauthd-*
COPY src ./src
COPY migrations ./migrations
COPY build.rs ./
# The client guide, served at /docs (the RFC 8414 service_documentation) and compiled in.
COPY docs/client-guide.md ./docs/
# The pages' templates (askama checks them at compile time) and their stylesheet (compiled in).
COPY templates ./templates
COPY static ./static
RUN cargo build --release --locked \
 && mkdir -p /out/var/lib/oauthd/data \
 && cp target/release/oauthd /out/oauthd

# distroless/cc: glibc and libgcc only, no shell, no package manager, no OpenSSL use (rustls).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/oauthd /usr/local/bin/oauthd
# The SQLite default, database.url = sqlite://data/oauthd.db, is relative to the working directory:
# /var/lib/oauthd/data/oauthd.db, on a volume owned by the non-root user (uid 65532 "nonroot").
# The directories are made in the build stage because this image has no shell to mkdir/chown.
# The URL is deliberately not set here, so DATABASE_URL, OAUTHD_DATABASE__URL or their _FILE
# forms can be given without clashing with an image default.
COPY --from=build --chown=65532:65532 /out/var/lib/oauthd /var/lib/oauthd
WORKDIR /var/lib/oauthd
VOLUME ["/var/lib/oauthd/data"]
# Safe by default: HTTPS on every interface of the container with a self-signed certificate
# generated on the first start and kept on the volume (data/tls), so its fingerprint stays across
# restarts and upgrades; the issuer is https://localhost:8443 (set OAUTHD_SERVER__ISSUER to the URL
# clients use). oauthd refuses plain HTTP on 0.0.0.0 unless TLS is terminated in front and declared
# (an https issuer and OAUTHD_SERVER__TRUSTED_PROXIES) or OAUTHD_SERVER__ALLOW_INSECURE_HTTP=true.
# JSON logs on stdout; in-flight requests drained for at most 8 s, inside `docker stop`'s default
# 10 s (compose.yaml raises both).
ENV OAUTHD_SERVER__LISTEN=0.0.0.0:8443 \
    OAUTHD_SERVER__ISSUER=https://localhost:8443 \
    OAUTHD_TLS__SELF_SIGNED=true \
    OAUTHD_TLS__SELF_SIGNED_DIR=data/tls \
    OAUTHD_LOG__FORMAT=json \
    OAUTHD_SERVER__SHUTDOWN_GRACE_SECS=8
USER 65532:65532
EXPOSE 8443
# `oauthd healthcheck` GETs /readyz on the configured listener (http or https): no curl needed.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["oauthd", "healthcheck"]
# docker/podman stop send SIGTERM: oauthd stops accepting, finishes in-flight requests within
# server.shutdown_grace_secs, and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["oauthd"]
CMD ["serve"]
