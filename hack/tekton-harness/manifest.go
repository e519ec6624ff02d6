package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"knative.dev/pkg/system"
	"sigs.k8s.io/yaml"
)

// featureFlagsAnnotation lists the feature flags a generated PipelineRun needs ("k=v,k=v").
const featureFlagsAnnotation = "kfp-driver.io/tekton-feature-flags"

// loadPipelineRun reads a v1 PipelineRun (YAML or JSON) and gives it what the API server would:
// a name for generateName, a namespace, a UID and a creation time.
func loadPipelineRun(path string) (*v1.PipelineRun, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pr := &v1.PipelineRun{}
	if err := yaml.UnmarshalStrict(data, pr); err != nil {
		return nil, fmt.Errorf("%s: not a tekton.dev/v1 PipelineRun: %w", path, err)
	}
	if pr.Kind != "PipelineRun" || pr.APIVersion != "tekton.dev/v1" {
		return nil, fmt.Errorf("%s: expected apiVersion tekton.dev/v1, kind PipelineRun; got %s %s", path, pr.APIVersion, pr.Kind)
	}
	if pr.Name == "" {
		pr.Name = pr.GenerateName + randomSuffix()
	}
	if pr.Namespace == "" {
		pr.Namespace = "default"
	}
	pr.UID = types.UID(uuid.NewString())
	pr.CreationTimestamp = metav1.Now()
	return pr, nil
}

func randomSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:5]
}

// featureFlags are Tekton's defaults plus the flags the manifest asks for.
func featureFlags(pr *v1.PipelineRun) (map[string]string, error) {
	flags := map[string]string{}
	spec := pr.Annotations[featureFlagsAnnotation]
	for _, item := range strings.Split(spec, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		key, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("annotation %s: %q is not key=value", featureFlagsAnnotation, item)
		}
		flags[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	return flags, nil
}

// defaultAndValidate runs what Tekton's admission webhook would: SetDefaults, then Validate.
func defaultAndValidate(ctx context.Context, pr *v1.PipelineRun, flags map[string]string) error {
	ff, err := config.NewFeatureFlagsFromMap(flags)
	if err != nil {
		return fmt.Errorf("feature flags: %w", err)
	}
	defaults, err := config.NewDefaultsFromMap(map[string]string{})
	if err != nil {
		return err
	}
	ctx = config.ToContext(ctx, &config.Config{FeatureFlags: ff, Defaults: defaults})
	pr.SetDefaults(ctx)
	if ferr := pr.Validate(ctx); ferr != nil {
		return fmt.Errorf("Tekton rejects the PipelineRun: %s", strings.ReplaceAll(ferr.Error(), "\n", "; "))
	}
	return nil
}

// configMaps are Tekton's configuration maps in the system namespace.
func configMaps(flags map[string]string) []*corev1.ConfigMap {
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: system.Namespace()}
	}
	return []*corev1.ConfigMap{
		{ObjectMeta: meta(config.GetFeatureFlagsConfigName()), Data: flags},
		{ObjectMeta: meta(config.GetDefaultsConfigName()), Data: map[string]string{}},
	}
}

// seedObjects reads Secrets and ConfigMaps (one YAML/JSON document each, or a List) the pods may use.
func seedObjects(path, namespace string) ([]*corev1.Secret, []*corev1.ConfigMap, error) {
	if path == "" {
		return nil, nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var secrets []*corev1.Secret
	var maps []*corev1.ConfigMap
	decoder := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc map[string]any
		if err := decoder.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		items := []any{doc}
		if doc["kind"] == "List" {
			items, _ = doc["items"].([]any)
		}
		for _, item := range items {
			raw, _ := yaml.Marshal(item)
			kind, _ := item.(map[string]any)["kind"].(string)
			switch kind {
			case "Secret":
				s := &corev1.Secret{}
				if err := yaml.Unmarshal(raw, s); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", path, err)
				}
				if s.Namespace == "" {
					s.Namespace = namespace
				}
				for k, v := range s.StringData {
					if s.Data == nil {
						s.Data = map[string][]byte{}
					}
					s.Data[k] = []byte(v)
				}
				secrets = append(secrets, s)
			case "ConfigMap":
				cm := &corev1.ConfigMap{}
				if err := yaml.Unmarshal(raw, cm); err != nil {
					return nil, nil, fmt.Errorf("%s: %w", path, err)
				}
				if cm.Namespace == "" {
					cm.Namespace = namespace
				}
				maps = append(maps, cm)
			case "":
			default:
				return nil, nil, fmt.Errorf("%s: only Secrets and ConfigMaps can be seeded, not %s", path, kind)
			}
		}
	}
	return secrets, maps, nil
}
