# Asterisk 22 from Debian sid, with the sounds hotline's sandbox uses.
# hotline's own configuration (dialplan/) is mounted at /etc/asterisk.
FROM debian:sid-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      asterisk asterisk-modules asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm sox \
    && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["asterisk", "-f", "-n", "-g"]
