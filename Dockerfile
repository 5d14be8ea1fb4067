# The cascade plugin image for CI pipelines (Drone, Woodpecker, or any
# runner that can start a container). Settings come from PLUGIN_* variables;
# see docs/ci.md.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/cascade ./cmd/cascade

# cascade builds and tests downstreams, so the image carries Go, git and
# Node.js with npm.
FROM golang:1.26-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends git nodejs npm \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/cascade /usr/local/bin/cascade
ENV CASCADE_CACHE_DIR=/cache/cascade
ENTRYPOINT ["/usr/local/bin/cascade", "verify"]
