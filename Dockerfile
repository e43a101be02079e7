# vpcgate in a container: `docker compose up` (see docker-compose.yml).
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p vpcgate

FROM debian:bookworm-slim
# SAM templates (Transform: AWS::Serverless-2016-10-31) are expanded by AWS's translator, a Python package.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-pip \
 && python3 -m pip install --no-cache-dir --break-system-packages aws-sam-translator \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/vpcgate /usr/local/bin/vpcgate
COPY scenarios /scenarios
EXPOSE 4566
ENTRYPOINT ["vpcgate"]
CMD ["serve", "--listen", "0.0.0.0:4566", "--allow-remote"]
