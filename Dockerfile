# vpcgate in a container: `docker compose up` (see docker-compose.yml).
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p vpcgate

FROM debian:bookworm-slim
COPY --from=build /src/target/release/vpcgate /usr/local/bin/vpcgate
COPY scenarios /scenarios
EXPOSE 4566
ENTRYPOINT ["vpcgate"]
CMD ["serve", "--listen", "0.0.0.0:4566", "--allow-remote"]
