# The whole chain (edge, Function URL, Runtime API with the function inside, fake Cognito and Gemini,
# SSM, the chat page) in one static binary. Built by scripts/build-images; arguments after the image
# name go to `emulator up` (e.g. --edge-addr 127.0.0.1:19000 with --network host).
FROM scratch
COPY emulator /emulator
# Listen on every interface at the default ports; `up` still prints 127.0.0.1 URLs.
ENV EMULATOR_EDGE_ADDR=0.0.0.0:9000 \
    EMULATOR_URL_ADDR=0.0.0.0:9001 \
    EMULATOR_COGNITO_ADDR=0.0.0.0:9229 \
    EMULATOR_GEMINI_ADDR=0.0.0.0:9300 \
    EMULATOR_SITE_ADDR=0.0.0.0:9080 \
    EMULATOR_READY_FILE=/chatbot-chain.json
EXPOSE 9000 9001 9229 9300 9080
HEALTHCHECK --interval=1s --timeout=3s --start-period=30s --retries=3 CMD ["/emulator", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/emulator", "up", "--json"]
