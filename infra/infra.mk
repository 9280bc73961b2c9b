# AWS CDK targets. The root Makefile includes this file (include infra/infra.mk);
# docs/deploy.md explains them.
#
#   make synth     [STAGE=dev|prod] [CDK_CONTEXT="-c tracing=true ..."]  offline, no AWS credentials
#   make deploy    STAGE=prod [CDK_CONTEXT=...] [DEPLOY_FLAGS=...]       needs AWS credentials + cdk bootstrap
#   make sam-local [SAM_TABLE=...] [SAM_DDB_ENDPOINT=...] [SAM_FLAGS=...] needs Docker, SAM CLI, a DynamoDB Local

STAGE            ?= dev
CDK              ?= npx --yes aws-cdk@2.1148.0
CDK_CONTEXT      ?=
DEPLOY_FLAGS     ?=
CDK_OUT          := cdk.out
CDK_STACK         = abtest-$(STAGE)
CDK_TEMPLATE      = $(CDK_OUT)/$(CDK_STACK).template.json
SAM_TABLE        ?= abtest-local
SAM_DDB_ENDPOINT ?= http://host.docker.internal:8000
SAM_FLAGS        ?=

.PHONY: synth deploy sam-local

synth: build ## synthesize abtest-<stage> offline into cdk.out/ (STAGE=dev|prod, CDK_CONTEXT="-c key=value ...")
	go run ./infra -o $(CDK_OUT) -c stage=$(STAGE) $(CDK_CONTEXT)
	@echo "template: $(CDK_TEMPLATE)"

deploy: build ## deploy abtest-<stage> with the CDK CLI (AWS credentials; see docs/deploy.md)
	$(CDK) deploy $(CDK_STACK) -c stage=$(STAGE) $(CDK_CONTEXT) $(DEPLOY_FLAGS)

sam-local: synth ## serve the synthesized API with `sam local start-api` against your DynamoDB Local (docs/deploy.md)
	go run ./infra/cmd/samenv -template $(CDK_TEMPLATE) -table $(SAM_TABLE) -endpoint $(SAM_DDB_ENDPOINT) > $(CDK_OUT)/sam-env.json
	sam local start-api -t $(CDK_TEMPLATE) --env-vars $(CDK_OUT)/sam-env.json $(SAM_FLAGS)
