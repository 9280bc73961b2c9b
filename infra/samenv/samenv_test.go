package samenv

import (
	"reflect"
	"strings"
	"testing"
)

const template = `{"Resources": {
  "AssignmentFunctionAB12": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
    "TABLE_NAME": {"Ref": "Table"}, "LOG_LEVEL": "info", "AWS_ENDPOINT_URL_DYNAMODB": ""}}}},
  "OtherFunction": {"Type": "AWS::Lambda::Function", "Properties": {}},
  "Table": {"Type": "AWS::DynamoDB::Table"}
}}`

func TestEnvVarsKeyedByLogicalID(t *testing.T) {
	got, err := EnvVars([]byte(template), map[string]string{"TABLE_NAME": "t", "AWS_ENDPOINT_URL_DYNAMODB": "http://x:8000"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"AssignmentFunctionAB12": {"TABLE_NAME": "t", "AWS_ENDPOINT_URL_DYNAMODB": "http://x:8000"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestEnvVarsRejectsUndeclaredVariable(t *testing.T) {
	_, err := EnvVars([]byte(template), map[string]string{"NOT_DECLARED": "x"})
	if err == nil || !strings.Contains(err.Error(), "NOT_DECLARED") {
		t.Fatalf("err = %v, want one naming NOT_DECLARED", err)
	}
}

func TestEnvVarsNeedsAServiceFunction(t *testing.T) {
	if _, err := EnvVars([]byte(`{"Resources": {}}`), nil); err == nil {
		t.Fatal("want an error for a template without service functions")
	}
}
