package main

import (
	"context"
	"fmt"
	"github.com/kfp-driver/hack/validators/manifest"
	"strings"

	"github.com/tektoncd/pipeline/pkg/apis/config"
	v1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipeline/dag"
	"github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

const apiVersion = "tekton.dev/v1"

// featureFlagsAnnotation lists the Tekton feature flags a generated manifest needs ("k=v,k=v"); the
// validator turns them on as the cluster's feature-flags ConfigMap would.
const featureFlagsAnnotation = "kfp-driver.io/tekton-feature-flags"

var supportedKinds = []string{"PipelineRun", "Pipeline"}

// decoded is a document decoded into its Tekton type (after SetDefaults), or why it could not be.
type decoded struct {
	doc         manifest.Document
	pipeline    *v1.Pipeline
	pipelineRun *v1.PipelineRun
	err         error
}

// validateAll decodes and defaults every document, registers the Pipelines so a PipelineRun's
// pipelineRef resolves within the input, then validates each document.
func validateAll(docs []manifest.Document) []manifest.Verdict {
	items := make([]decoded, len(docs))
	pipelines := map[string]*v1.Pipeline{} // "namespace/name" -> defaulted Pipeline
	for i, doc := range docs {
		items[i] = decode(doc)
		if p := items[i].pipeline; p != nil && items[i].err == nil {
			key := namespaceOf(p.Namespace) + "/" + p.Name
			if _, dup := pipelines[key]; dup {
				items[i].err = fmt.Errorf("duplicate Pipeline %q in namespace %q", p.Name, namespaceOf(p.Namespace))
				continue
			}
			pipelines[key] = p
		}
	}
	verdicts := make([]manifest.Verdict, len(items))
	for i, item := range items {
		problems := manifest.Lines(item.err)
		if item.err == nil {
			problems = safely(func() []string {
				if item.pipeline != nil {
					return validatePipeline(item.pipeline)
				}
				return validatePipelineRun(item.pipelineRun, pipelines)
			})
		}
		verdicts[i] = manifest.NewVerdict(item.doc, problems)
	}
	return verdicts
}

func decode(doc manifest.Document) decoded {
	item := decoded{doc: doc}
	if doc.APIVersion != apiVersion {
		item.err = fmt.Errorf("apiVersion is %q; this validator checks %s %s", doc.APIVersion, apiVersion, doc.Kind)
		return item
	}
	var target interface {
		metav1.Object
		SetDefaults(context.Context)
	}
	if doc.Kind == "Pipeline" {
		item.pipeline = &v1.Pipeline{}
		target = item.pipeline
	} else {
		item.pipelineRun = &v1.PipelineRun{}
		target = item.pipelineRun
	}
	if err := manifest.DecodeStrict(doc.Raw, target); err != nil {
		item.err = fmt.Errorf("not a valid %s: %w", doc.Kind, err)
		return item
	}
	if target.GetName() == "" && target.GetGenerateName() != "" {
		target.SetName(generatedName(target.GetGenerateName()))
	}
	ctx, err := webhookContext(target.GetAnnotations())
	if err != nil {
		item.err = err
		return item
	}
	target.SetDefaults(ctx)
	return item
}

// webhookContext is the context Tekton's admission webhook gives SetDefaults and Validate: the default
// configuration plus the feature flags the manifest declares, for a create request.
func webhookContext(annotations map[string]string) (context.Context, error) {
	flags := map[string]string{}
	for _, item := range strings.Split(annotations[featureFlagsAnnotation], ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		key, value, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("annotation %s: %q is not key=value", featureFlagsAnnotation, item)
		}
		flags[strings.TrimSpace(key)] = strings.TrimSpace(value)
	}
	ff, err := config.NewFeatureFlagsFromMap(flags)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", featureFlagsAnnotation, err)
	}
	defaults, err := config.NewDefaultsFromMap(map[string]string{})
	if err != nil {
		return nil, err
	}
	ctx := config.ToContext(context.Background(), &config.Config{FeatureFlags: ff, Defaults: defaults})
	return apis.WithinCreate(ctx), nil
}

func validatePipeline(p *v1.Pipeline) []string {
	ctx, _ := webhookContext(p.Annotations) // decode already checked the annotation
	problems := fieldErrors(p.Validate(ctx))
	return append(problems, graphProblems(&p.Spec)...)
}

// validatePipelineRun validates the run as the webhook does, then its pipeline (embedded, or referenced
// by name and found in the input) as the reconciler does before it creates any TaskRun.
func validatePipelineRun(pr *v1.PipelineRun, pipelines map[string]*v1.Pipeline) []string {
	ctx, _ := webhookContext(pr.Annotations)
	problems := fieldErrors(pr.Validate(ctx))
	spec := pr.Spec.PipelineSpec
	if ref := pr.Spec.PipelineRef; ref != nil && spec == nil {
		if ref.Resolver != "" || ref.Name == "" {
			return append(problems, "spec.pipelineRef: a remote (resolver) reference cannot be checked offline; "+
				"give the Pipeline in the same input and reference it by name")
		}
		p, ok := pipelines[namespaceOf(pr.Namespace)+"/"+ref.Name]
		if !ok {
			return append(problems, fmt.Sprintf("spec.pipelineRef: Pipeline %q (namespace %q) is not in the input",
				ref.Name, namespaceOf(pr.Namespace)))
		}
		spec = p.Spec.DeepCopy()
		problems = append(problems, fieldErrors(spec.Validate(ctx))...)
	}
	if spec == nil {
		return problems
	}
	problems = append(problems, graphProblems(spec)...)
	for _, check := range []func() error{
		func() error { return resources.ValidateRequiredParametersProvided(&spec.Params, &pr.Spec.Params) },
		func() error { return resources.ValidateParamTypesMatching(spec, pr) },
		func() error { return resources.ValidateObjectParamRequiredKeys(spec.Params, pr.Spec.Params) },
		func() error { return resources.ValidateParamArrayIndex(spec, pr.Spec.Params) },
		func() error { return resources.ValidateWorkspaceBindings(spec, pr) },
		func() error { return resources.ValidateTaskRunSpecs(spec, pr) },
	} {
		problems = append(problems, manifest.Lines(check())...)
	}
	return problems
}

// graphProblems builds the pipeline's DAGs as the reconciler does (tasks with their runAfter and result
// dependencies; finally tasks on their own), catching cycles and references to unknown tasks.
func graphProblems(spec *v1.PipelineSpec) []string {
	var problems []string
	if _, err := dag.Build(v1.PipelineTaskList(spec.Tasks), v1.PipelineTaskList(spec.Tasks).Deps()); err != nil {
		problems = append(problems, "pipeline DAG is invalid: "+err.Error())
	}
	if _, err := dag.Build(v1.PipelineTaskList(spec.Finally), map[string][]string{}); err != nil {
		problems = append(problems, "pipeline DAG is invalid for finally clause: "+err.Error())
	}
	return problems
}

// generatedName is the name the API server gives an object with only generateName before the admission
// webhooks see it: the prefix cut to 58 characters plus 5 random ones (fixed here).
func generatedName(prefix string) string {
	const maxPrefix = 63 - 5
	if len(prefix) > maxPrefix {
		prefix = prefix[:maxPrefix]
	}
	return prefix + "x0x0x"
}

func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// fieldErrors is manifest.Lines() for Tekton's validation result, whose "no error" is a typed nil.
func fieldErrors(fe *apis.FieldError) []string {
	if fe == nil {
		return nil
	}
	return manifest.Lines(fe)
}

// safely turns a panic in Tekton's code into a problem, so one bad document cannot hide the others.
func safely(check func() []string) (problems []string) {
	defer func() {
		if r := recover(); r != nil {
			problems = []string{fmt.Sprintf("Tekton's validation panicked: %v", r)}
		}
	}()
	return check()
}
