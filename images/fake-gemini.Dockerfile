# fake-gemini alone. Mount a scenario file and pass --script, e.g.
#   docker run -v $PWD/script.toml:/script.toml fake-gemini --script /script.toml
# Change the address with -e FAKE_GEMINI_ADDR=… (the health check reads the same variable).
FROM scratch
COPY fake-gemini /fake-gemini
ENV FAKE_GEMINI_ADDR=0.0.0.0:9300
EXPOSE 9300
HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=3 CMD ["/fake-gemini", "--health-check"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/fake-gemini"]
