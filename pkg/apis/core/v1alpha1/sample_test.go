package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"sigs.k8s.io/yaml"

	api "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

const samplePath = "../../../../artifacts/examples/sample-restore.yaml"

// TestSampleRoundTrip decodes the API reference's sample RestoreSession
// strictly (an unknown or misspelt field fails) and checks that encoding it
// again loses nothing.
func TestSampleRoundTrip(t *testing.T) {
	raw, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	var rs api.RestoreSession
	if err := yaml.UnmarshalStrict(raw, &rs); err != nil {
		t.Fatalf("strict decode of the sample: %v", err)
	}
	if rs.Spec.DataSource.Snapshot != api.SnapshotLatest || rs.Status.Components["pod-2"].Duration != "6.509171185s" ||
		len(rs.Status.Conditions) != 3 || !rs.Status.Dependencies[0].Found {
		t.Fatalf("sample decoded into the wrong fields: %+v", rs)
	}

	encoded, err := json.Marshal(&rs)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := yaml.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(encoded, &got); err != nil {
		t.Fatal(err)
	}
	// The Go type adds an empty metadata.creationTimestamp; nothing else.
	delete(got.(map[string]any)["metadata"].(map[string]any), "creationTimestamp")
	if !reflect.DeepEqual(want, got) {
		w, _ := json.MarshalIndent(want, "", "  ")
		g, _ := json.MarshalIndent(got, "", "  ")
		t.Errorf("round trip changed the sample\nwant:\n%s\ngot:\n%s", w, g)
	}
}

// TestSampleMatchesReference checks that the sample in artifacts/ is still
// the reference's, when the reference is checked out beside the repository.
func TestSampleMatchesReference(t *testing.T) {
	ref, err := os.ReadFile(filepath.Join("../../../../../shared/reference/restoresession.md"))
	if err != nil {
		t.Skipf("API reference not beside the repository: %v", err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(ref)
	if m == nil {
		t.Fatal("no yaml block in the reference")
	}
	sample, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m[1], sample) {
		t.Errorf("%s differs from the reference's sample", samplePath)
	}
}
