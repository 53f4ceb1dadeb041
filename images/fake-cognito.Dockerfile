# fake-cognito alone. Mount a pool file and pass --config, e.g.
#   docker run -v $PWD/pool.toml:/pool.toml fake-cognito --config /pool.toml
# Change the address with -e FAKE_COGNITO_ADDR=… (the health check reads the same variable).
FROM scratch
COPY fake-cognito /fake-cognito
ENV FAKE_COGNITO_ADDR=0.0.0.0:9229
EXPOSE 9229
HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=3 CMD ["/fake-cognito", "--health-check"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/fake-cognito"]
