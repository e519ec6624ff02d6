package main

import (
	"fmt"
	"github.com/kfp-driver/hack/validators/manifest"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

const apiVersion = "argoproj.io/v1alpha1"

var supportedKinds = []string{"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"}

// catalog holds the (Cluster)WorkflowTemplates of the input, so references between documents resolve
// offline as `argo lint --offline` resolves them.
type catalog struct {
	templates map[string]map[string]*wfv1.WorkflowTemplate // namespace -> name -> template
	cluster   map[string]*wfv1.ClusterWorkflowTemplate
}

type namespaceGetter struct {
	namespace string
	templates map[string]*wfv1.WorkflowTemplate
}

func (g namespaceGetter) Get(name string) (*wfv1.WorkflowTemplate, error) {
	if t, ok := g.templates[name]; ok {
		return t.DeepCopy(), nil
	}
	return nil, fmt.Errorf("couldn't find workflow template %q in namespace %q (not in the input)", name, g.namespace)
}

type clusterGetter map[string]*wfv1.ClusterWorkflowTemplate

func (g clusterGetter) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	if t, ok := g[name]; ok {
		return t.DeepCopy(), nil
	}
	return nil, fmt.Errorf("couldn't find cluster workflow template %q (not in the input)", name)
}

func (c catalog) namespace(ns string) templateresolution.WorkflowTemplateNamespacedGetter {
	return namespaceGetter{namespace: ns, templates: c.templates[ns]}
}

// decoded is a document decoded into its Argo type, or why it could not be.
type decoded struct {
	doc    manifest.Document
	object any
	err    error
}

// validateAll decodes every document, registers the templates, then validates each document.
func validateAll(docs []manifest.Document) []manifest.Verdict {
	cat := catalog{templates: map[string]map[string]*wfv1.WorkflowTemplate{}, cluster: map[string]*wfv1.ClusterWorkflowTemplate{}}
	items := make([]decoded, len(docs))
	for i, doc := range docs {
		object, err := decode(doc)
		if err == nil {
			err = cat.add(object)
		}
		items[i] = decoded{doc: doc, object: object, err: err}
	}
	verdicts := make([]manifest.Verdict, len(items))
	for i, item := range items {
		err := item.err
		if err == nil {
			err = cat.validate(item.object)
		}
		verdicts[i] = manifest.NewVerdict(item.doc, manifest.Lines(err))
	}
	return verdicts
}

func decode(doc manifest.Document) (any, error) {
	if doc.APIVersion != apiVersion {
		return nil, fmt.Errorf("apiVersion is %q; Argo's %s is %s", doc.APIVersion, doc.Kind, apiVersion)
	}
	var target any
	switch doc.Kind {
	case "Workflow":
		target = &wfv1.Workflow{}
	case "WorkflowTemplate":
		target = &wfv1.WorkflowTemplate{}
	default:
		target = &wfv1.ClusterWorkflowTemplate{}
	}
	if err := manifest.DecodeStrict(doc.Raw, target); err != nil {
		return nil, fmt.Errorf("not a valid %s: %w", doc.Kind, err)
	}
	return target, nil
}

func namespaceOf(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func (c catalog) add(object any) error {
	switch t := object.(type) {
	case *wfv1.WorkflowTemplate:
		ns := namespaceOf(t.Namespace)
		if c.templates[ns] == nil {
			c.templates[ns] = map[string]*wfv1.WorkflowTemplate{}
		}
		if _, dup := c.templates[ns][t.Name]; dup {
			return fmt.Errorf("duplicate WorkflowTemplate %q in namespace %q", t.Name, ns)
		}
		c.templates[ns][t.Name] = t.DeepCopy()
	case *wfv1.ClusterWorkflowTemplate:
		if _, dup := c.cluster[t.Name]; dup {
			return fmt.Errorf("duplicate ClusterWorkflowTemplate %q", t.Name)
		}
		c.cluster[t.Name] = t.DeepCopy()
	}
	return nil
}

// validate runs Argo's validation of one object as `argo lint --offline` does: arguments without a value
// are allowed (they are given at submission, e.g. `argo submit -p`).
func (c catalog) validate(object any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("Argo's validation panicked: %v", r)
		}
	}()
	switch t := object.(type) {
	case *wfv1.Workflow:
		return validate.ValidateWorkflow(c.namespace(namespaceOf(t.Namespace)), clusterGetter(c.cluster), t, nil, validate.ValidateOpts{Lint: true})
	case *wfv1.WorkflowTemplate:
		return validate.ValidateWorkflowTemplate(c.namespace(namespaceOf(t.Namespace)), clusterGetter(c.cluster), t, nil, validate.ValidateOpts{Lint: true})
	case *wfv1.ClusterWorkflowTemplate:
		return validate.ValidateClusterWorkflowTemplate(c.namespace("default"), clusterGetter(c.cluster), t, nil, validate.ValidateOpts{Lint: true})
	}
	return fmt.Errorf("unexpected object %T", object)
}
