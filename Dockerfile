# crmmock container image: a static binary built outside the image, nothing else.
# Build it with `make image` (podman or docker), which first runs
#   CGO_ENABLED=0 go build -trimpath -o bin/image/crmmock ./cmd/crmmock
# The built-in scenario is embedded in the binary; scenarios/ is copied for --scenario
# and `crmmock run` (e.g. --scenario /scenarios/default.yaml).
FROM scratch

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="crmmock" \
      org.opencontainers.image.description="Mock server of CRM.COM's authentication Web API (tokens, expiry rules per release, fake clock, control API)" \
      org.opencontainers.image.source="https://github.com/crmmock/crmmock" \
      org.opencontainers.image.url="https://github.com/crmmock/crmmock" \
      org.opencontainers.image.documentation="https://github.com/crmmock/crmmock#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"

COPY bin/image/crmmock /crmmock
COPY scenarios /scenarios

# Listen on every interface inside the container; publish with -p 8080:8080.
ENV CRMMOCK_ADDR=0.0.0.0:8080
EXPOSE 8080
USER 65532:65532

# crmmock health dials CRMMOCK_ADDR (0.0.0.0 as 127.0.0.1), so it follows a -e CRMMOCK_ADDR=….
HEALTHCHECK --interval=5s --timeout=5s --start-period=2s --retries=3 \
    CMD ["/crmmock", "health"]

ENTRYPOINT ["/crmmock"]
CMD ["serve"]
