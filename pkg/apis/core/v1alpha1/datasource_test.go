package v1alpha1_test

import (
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"

	api "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// A RestoreSession without spec.dataSource must be written back without
// one: the controller's updates send the whole object, and a dataSource
// appearing in them ({"snapshot": ""}) would change the immutable spec and
// break the schema's rules. Both encoders in use keep it absent.
func TestAbsentDataSourceStaysAbsent(t *testing.T) {
	rs := &api.RestoreSession{Spec: api.RestoreSessionSpec{Addon: api.AddonInfo{Name: "kubedump-addon"}}}

	raw, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "dataSource") {
		t.Errorf("encoding/json wrote %s", raw)
	}

	var buf strings.Builder
	s := runtime.NewScheme()
	if err := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{}).Encode(rs, &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "dataSource") {
		t.Errorf("the API machinery's JSON serializer wrote %s", buf.String())
	}

	rs.Spec.DataSource = api.RestoreDataSource{Snapshot: "latest", Repository: "repo"}
	raw, err = json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"dataSource":{"repository":"repo","snapshot":"latest"}`) {
		t.Errorf("a data source given is not written: %s", raw)
	}
}
