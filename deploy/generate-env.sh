#!/bin/sh
# Prints a filled .env for docker-compose.yml (or deploy/k8s/base/secrets.env) with fresh random secrets.
# Usage: sh deploy/generate-env.sh > .env
set -eu
hex() { openssl rand -hex "$1"; }
echo "POSTGRES_PASSWORD=$(hex 24)"
echo "RABBITMQ_PASSWORD=$(hex 24)"
echo "INTERNAL_CLIENT_SECRET=$(hex 32)"
echo "OPERATOR_CLIENT_ID=operator"
echo "OPERATOR_CLIENT_SECRET=$(hex 32)"
echo "TOTP_ENCRYPTION_KEY=$(openssl rand -base64 32)"
echo "VERIFICATION_CODE_SECRET=$(hex 32)"
echo "SMTP_URL="
echo "GRAFANA_ADMIN_PASSWORD=$(hex 16)"
