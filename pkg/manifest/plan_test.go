package manifest

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	corev1alpha1 "github.com/restore-controller/restore/pkg/apis/core/v1alpha1"
)

// optionsFor puts o in the field of kind's database.
func optionsFor(kind string, o corev1alpha1.KubeDBManifestOptions) corev1alpha1.ManifestRestoreOptions {
	opts := corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst"}
	switch kind {
	case "MongoDB":
		opts.MongoDB = &o
	case "Postgres":
		opts.Postgres = &o
	case "MySQL":
		opts.MySQL = &o
	case "MariaDB":
		opts.MariaDB = &o
	}
	return opts
}

func nested(t *testing.T, obj *unstructured.Unstructured, path ...string) string {
	t.Helper()
	v, _, err := unstructured.NestedString(obj.Object, path...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(path, "."), err)
	}
	return v
}

func TestPlanPerDatabaseKind(t *testing.T) {
	for _, db := range Databases {
		kind := db.Kind
		source := func() []*unstructured.Unstructured {
			return []*unstructured.Unstructured{
				secret("src", "db-auth"), secret("src", "db-config"),
				database(kind, "src", "db", "db-auth", "db-config", "ca-issuer"),
			}
		}
		cases := []struct {
			name  string
			opts  corev1alpha1.ManifestRestoreOptions
			want  []string
			check func(t *testing.T, db *unstructured.Unstructured)
		}{{
			name: "no options restore everything unchanged",
			opts: corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst"},
			want: []string{"Secret dst/db-auth", "Secret dst/db-config", kind + " dst/db"},
			check: func(t *testing.T, db *unstructured.Unstructured) {
				if got := nested(t, db, authSecretPath...); got != "db-auth" {
					t.Errorf("authSecret.name = %q, want db-auth", got)
				}
				if got := nested(t, db, issuerRefPath...); got != "ca-issuer" {
					t.Errorf("issuerRef.name = %q, want ca-issuer", got)
				}
			},
		}, {
			name: "renames fix references",
			opts: optionsFor(kind, corev1alpha1.KubeDBManifestOptions{
				DBName: "new-db", AuthSecretName: "new-auth", ConfigSecretName: "new-config", IssuerRefName: "new-issuer",
			}),
			want: []string{"Secret dst/new-auth", "Secret dst/new-config", kind + " dst/new-db"},
			check: func(t *testing.T, db *unstructured.Unstructured) {
				for path, want := range map[string]string{
					"spec.authSecret.name": "new-auth", "spec.configSecret.name": "new-config", "spec.tls.issuerRef.name": "new-issuer",
				} {
					if got := nested(t, db, strings.Split(path, ".")...); got != want {
						t.Errorf("%s = %q, want %q", path, got, want)
					}
				}
				if got := nested(t, db, "spec", "tls", "issuerRef", "kind"); got != "Issuer" {
					t.Errorf("issuerRef.kind = %q: renaming must keep the rest of the reference", got)
				}
			},
		}, {
			name: "KubeStash's current shape: the database's restoreNamespace and tlsIssuerRef",
			opts: func() corev1alpha1.ManifestRestoreOptions {
				o := optionsFor(kind, corev1alpha1.KubeDBManifestOptions{
					RestoreNamespace: "per-db",
					TLSIssuerRef:     &corev1.TypedLocalObjectReference{APIGroup: ptr.To("cert-manager.io"), Kind: "ClusterIssuer", Name: "new-ci"},
				})
				o.RestoreNamespace = ""
				return o
			}(),
			want: []string{"Secret per-db/db-auth", "Secret per-db/db-config", kind + " per-db/db"},
			check: func(t *testing.T, db *unstructured.Unstructured) {
				for path, want := range map[string]string{
					"spec.tls.issuerRef.apiGroup": "cert-manager.io", "spec.tls.issuerRef.kind": "ClusterIssuer", "spec.tls.issuerRef.name": "new-ci",
				} {
					if got := nested(t, db, strings.Split(path, ".")...); got != want {
						t.Errorf("%s = %q, want %q", path, got, want)
					}
				}
			},
		}, {
			name: "both shapes naming one namespace",
			opts: optionsFor(kind, corev1alpha1.KubeDBManifestOptions{RestoreNamespace: "dst"}),
			want: []string{"Secret dst/db-auth", "Secret dst/db-config", kind + " dst/db"},
		}, {
			name: "db false restores only the Secrets",
			opts: optionsFor(kind, corev1alpha1.KubeDBManifestOptions{DB: ptr.To(false), AuthSecretName: "new-auth"}),
			want: []string{"Secret dst/new-auth", "Secret dst/db-config"},
		}, {
			name: "authSecret false keeps the reference to the Secret left out",
			opts: optionsFor(kind, corev1alpha1.KubeDBManifestOptions{AuthSecret: ptr.To(false), DBName: "new-db"}),
			want: []string{"Secret dst/db-config", kind + " dst/new-db"},
			check: func(t *testing.T, db *unstructured.Unstructured) {
				if got := nested(t, db, authSecretPath...); got != "db-auth" {
					t.Errorf("authSecret.name = %q, want db-auth", got)
				}
			},
		}, {
			name: "configSecret false",
			opts: optionsFor(kind, corev1alpha1.KubeDBManifestOptions{ConfigSecret: ptr.To(false), DB: ptr.To(true), AuthSecret: ptr.To(true)}),
			want: []string{"Secret dst/db-auth", kind + " dst/db"},
		}}
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				in := source()
				out, err := Plan(in, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				if got := names(out); !slices.Equal(got, tc.want) {
					t.Fatalf("planned %v, want %v", got, tc.want)
				}
				for _, o := range out {
					for _, f := range []string{"uid", "resourceVersion", "generation", "finalizers", "managedFields", "ownerReferences", "creationTimestamp"} {
						if _, found := o.Object["metadata"].(map[string]any)[f]; found {
							t.Errorf("%s keeps metadata.%s", describe(o), f)
						}
					}
					if _, found := o.Object["status"]; found {
						t.Errorf("%s keeps status", describe(o))
					}
				}
				if in[2].GetNamespace() != "src" || in[2].GetName() != "db" || in[2].Object["status"] == nil {
					t.Errorf("Plan modified its input: %v", in[2].Object)
				}
				if tc.check != nil {
					db := out[len(out)-1]
					if db.GetKind() != kind {
						t.Fatalf("last planned object is %s, want the %s", describe(db), kind)
					}
					tc.check(t, db)
				}
			})
		}
	}
}

func TestPlanErrors(t *testing.T) {
	pg := func(name, auth, config, issuer string) *unstructured.Unstructured {
		return database("Postgres", "src", name, auth, config, issuer)
	}
	configMap := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm", "namespace": "src"},
	}}
	cases := []struct {
		name    string
		objs    []*unstructured.Unstructured
		opts    corev1alpha1.ManifestRestoreOptions
		wantErr string
	}{{
		name:    "restoreNamespace missing",
		objs:    []*unstructured.Unstructured{secret("src", "a")},
		wantErr: "spec.manifestOptions.restoreNamespace is required",
	}, {
		name:    "unsupported kind",
		objs:    []*unstructured.Unstructured{configMap},
		opts:    corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst"},
		wantErr: "ConfigMap src/cm: a manifest restore restores only Secrets and KubeDB",
	}, {
		name:    "dbName with two databases",
		objs:    []*unstructured.Unstructured{pg("a", "", "", ""), pg("b", "", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{DBName: "x"}),
		wantErr: "spec.manifestOptions.postgres.dbName: the snapshot holds 2 Postgres objects (a, b)",
	}, {
		name:    "authSecretName without the Secret in the snapshot",
		objs:    []*unstructured.Unstructured{pg("a", "a-auth", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{AuthSecretName: "x"}),
		wantErr: `spec.manifestOptions.postgres.authSecretName: the auth Secret "a-auth" of Postgres src/a is not in the snapshot`,
	}, {
		name:    "authSecretName without a reference",
		objs:    []*unstructured.Unstructured{pg("a", "", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{AuthSecretName: "x"}),
		wantErr: "spec.manifestOptions.postgres.authSecretName: Postgres src/a refers to no auth Secret",
	}, {
		name:    "configSecretName without a reference",
		objs:    []*unstructured.Unstructured{pg("a", "", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{ConfigSecretName: "x"}),
		wantErr: "spec.manifestOptions.postgres.configSecretName: Postgres src/a refers to no config Secret",
	}, {
		name:    "issuerRefName without TLS",
		objs:    []*unstructured.Unstructured{pg("a", "", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{IssuerRefName: "x"}),
		wantErr: "spec.manifestOptions.postgres.issuerRefName: Postgres src/a has no TLS issuer",
	}, {
		name:    "tlsIssuerRef without TLS",
		objs:    []*unstructured.Unstructured{pg("a", "", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{TLSIssuerRef: &corev1.TypedLocalObjectReference{Kind: "Issuer", Name: "x"}}),
		wantErr: "spec.manifestOptions.postgres.tlsIssuerRef: Postgres src/a has no TLS settings (spec.tls)",
	}, {
		name: "two restore namespaces",
		objs: []*unstructured.Unstructured{pg("a", "", "", "")},
		opts: corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst",
			MySQL: &corev1alpha1.KubeDBManifestOptions{RestoreNamespace: "elsewhere"}},
		wantErr: `spec.manifestOptions.mySQL.restoreNamespace is "elsewhere" but spec.manifestOptions.restoreNamespace is "dst": one manifest restore creates all its objects in one namespace`,
	}, {
		name:    "rename onto another restored object",
		objs:    []*unstructured.Unstructured{secret("src", "a-auth"), secret("src", "other"), pg("a", "a-auth", "", "")},
		opts:    optionsFor("Postgres", corev1alpha1.KubeDBManifestOptions{AuthSecretName: "other"}),
		wantErr: "Secret src/a-auth and Secret src/other would both be restored as Secret dst/other",
	}, {
		name: "one Secret renamed two ways",
		objs: []*unstructured.Unstructured{secret("src", "shared"), pg("a", "shared", "", ""), database("MySQL", "src", "m", "shared", "", "")},
		opts: corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst",
			Postgres: &corev1alpha1.KubeDBManifestOptions{AuthSecretName: "x"},
			MySQL:    &corev1alpha1.KubeDBManifestOptions{AuthSecretName: "y"}},
		wantErr: `spec.manifestOptions.mySQL.authSecretName renames it to "y", but spec.manifestOptions.postgres.authSecretName already renames it to "x"`,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Plan(tc.objs, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Plan = %v, %v; want error containing %q", names(out), err, tc.wantErr)
			}
		})
	}
}

func TestPlanSharedAndUnreferencedSecrets(t *testing.T) {
	objs := []*unstructured.Unstructured{
		secret("src", "shared"), secret("src", "unrelated"),
		database("Postgres", "src", "pg", "shared", "", ""),
		database("MySQL", "src", "my", "shared", "", ""),
	}
	cases := []struct {
		name string
		opts corev1alpha1.ManifestRestoreOptions
		want []string
	}{{
		name: "left out by one of two databases: kept",
		opts: corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst", Postgres: &corev1alpha1.KubeDBManifestOptions{AuthSecret: ptr.To(false)}},
		want: []string{"Secret dst/shared", "Secret dst/unrelated", "Postgres dst/pg", "MySQL dst/my"},
	}, {
		name: "left out by both: dropped, unrelated Secret kept",
		opts: corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "dst",
			Postgres: &corev1alpha1.KubeDBManifestOptions{AuthSecret: ptr.To(false)},
			MySQL:    &corev1alpha1.KubeDBManifestOptions{AuthSecret: ptr.To(false)}},
		want: []string{"Secret dst/unrelated", "Postgres dst/pg", "MySQL dst/my"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Plan(objs, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(out); !slices.Equal(got, tc.want) {
				t.Errorf("planned %v, want %v", got, tc.want)
			}
		})
	}
}

// A sharded MongoDB names its config Secret in each node: renaming the
// config Secret fixes every reference to it.
func TestPlanMongoDBShardConfigSecrets(t *testing.T) {
	mg := database("MongoDB", "src", "mg", "", "", "")
	node := map[string]any{"replicas": int64(3), "configSecret": map[string]any{"name": "mg-config"}}
	if err := unstructured.SetNestedField(mg.Object, map[string]any{
		"shard": node, "configServer": node, "mongos": map[string]any{"replicas": int64(1)},
	}, "spec", "shardTopology"); err != nil {
		t.Fatal(err)
	}
	objs := []*unstructured.Unstructured{secret("src", "mg-config"), mg}
	out, err := Plan(objs, optionsFor("MongoDB", corev1alpha1.KubeDBManifestOptions{ConfigSecretName: "new-config"}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(out), []string{"Secret dst/new-config", "MongoDB dst/mg"}; !slices.Equal(got, want) {
		t.Fatalf("planned %v, want %v", got, want)
	}
	db := out[1]
	for _, node := range []string{"shard", "configServer"} {
		if got := nested(t, db, "spec", "shardTopology", node, "configSecret", "name"); got != "new-config" {
			t.Errorf("shardTopology.%s.configSecret.name = %q, want new-config", node, got)
		}
	}
	if _, found, _ := unstructured.NestedMap(db.Object, "spec", "shardTopology", "mongos", "configSecret"); found {
		t.Errorf("mongos gained a configSecret it did not have")
	}

	// Two different config Secrets: one new name cannot fit both.
	if err := unstructured.SetNestedField(mg.Object, "other-config", "spec", "shardTopology", "shard", "configSecret", "name"); err != nil {
		t.Fatal(err)
	}
	_, err = Plan([]*unstructured.Unstructured{secret("src", "mg-config"), secret("src", "other-config"), mg},
		optionsFor("MongoDB", corev1alpha1.KubeDBManifestOptions{ConfigSecretName: "new-config"}))
	if err == nil || !strings.Contains(err.Error(), "refers to 2 config Secrets (other-config, mg-config)") {
		t.Errorf("Plan with two config Secrets = %v, want an error naming both", err)
	}
}

func TestRestoreNamespacesAndUnrestoredOptions(t *testing.T) {
	cases := []struct {
		name       string
		opts       *corev1alpha1.ManifestRestoreOptions
		want       string
		unrestored []string
	}{
		{name: "none", opts: nil},
		{name: "top-level", opts: &corev1alpha1.ManifestRestoreOptions{RestoreNamespace: "a"}, want: "a"},
		{name: "per database", opts: &corev1alpha1.ManifestRestoreOptions{MariaDB: &corev1alpha1.KubeDBManifestOptions{RestoreNamespace: "b"}}, want: "b"},
		{
			name: "workload and unrestored kinds name no restore namespace",
			opts: &corev1alpha1.ManifestRestoreOptions{
				Workload: &corev1alpha1.WorkloadManifestOptions{RestoreNamespace: "w"},
				Redis:    &corev1alpha1.KubeDBManifestOptions{RestoreNamespace: "r"},
				Druid:    &corev1alpha1.DruidManifestOptions{},
			},
			unrestored: []string{"spec.manifestOptions.druid", "spec.manifestOptions.redis"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RestoreNamespace(tc.opts); got != tc.want {
				t.Errorf("RestoreNamespace = %q, want %q", got, tc.want)
			}
			if got := UnrestoredOptions(tc.opts); !slices.Equal(got, tc.unrestored) {
				t.Errorf("UnrestoredOptions = %v, want %v", got, tc.unrestored)
			}
		})
	}
	if got, want := RestoredKindsText(), "MongoDB, Postgres, MySQL and MariaDB"; got != want {
		t.Errorf("RestoredKindsText = %q, want %q", got, want)
	}
}
