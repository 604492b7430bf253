# abs container image: absd and absctl on debian:bookworm-slim, installed from the same
# Debian package `make package` builds, so the image has the package's paths and user:
#   /usr/bin/absd, /usr/bin/absctl
#   /etc/aerospike-backup-service/aerospike-backup-service.yml  (the default configuration)
#   /var/lib/aerospike-backup-service                           (job history, local backups)
#   user and group aerospike-backup, fixed here at uid/gid 10001 (deploy/kubernetes runs as it)
# The API listens on 0.0.0.0:8080 in the image (loopback in the package's default).
#   docker build -t abs:0.5.0 .
#   docker run -p 8080:8080 -v $PWD/my.yml:/etc/aerospike-backup-service/aerospike-backup-service.yml abs:0.5.0

FROM debian:bookworm-slim AS build
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
# package.json's dependencies: swagger-ui-dist, which absd embeds for /api-docs/.
COPY package.json package-lock.json /src/
WORKDIR /src
RUN ABS_DEPS=build bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DABS_BUILD_BENCH=OFF \
 && cmake --build build --target absd absctl \
 && bash scripts/package-deb.sh build > /tmp/deb-path \
 && cp "$(cat /tmp/deb-path)" /abs.deb

FROM debian:bookworm-slim
COPY --from=build /abs.deb /tmp/abs.deb
# The user first, with a fixed id: the package's postinst keeps an existing one.
RUN groupadd --system --gid 10001 aerospike-backup \
 && useradd --system --uid 10001 --gid aerospike-backup --home-dir /var/lib/aerospike-backup-service \
      --no-create-home --shell /usr/sbin/nologin aerospike-backup \
 && apt-get update \
 && apt-get install -y --no-install-recommends /tmp/abs.deb ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* /tmp/abs.deb \
 && sed -i 's/^    address: 127.0.0.1$/    address: 0.0.0.0/' \
      /etc/aerospike-backup-service/aerospike-backup-service.yml \
 && grep -q '^    address: 0.0.0.0$' /etc/aerospike-backup-service/aerospike-backup-service.yml
USER aerospike-backup:aerospike-backup
EXPOSE 8080
VOLUME /var/lib/aerospike-backup-service
ENTRYPOINT ["/usr/bin/absd"]
CMD ["-c", "/etc/aerospike-backup-service/aerospike-backup-service.yml", "--state-dir", "/var/lib/aerospike-backup-service"]
