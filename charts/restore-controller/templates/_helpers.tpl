{{/*
Labels Helm's conventions add to every object of the release. The objects'
other labels, and the Deployment's selector, are those of artifacts/.
*/}}
{{- define "restore-controller.chartLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* The controller's selector labels; artifacts/deploy uses the same. */}}
{{- define "restore-controller.selectorLabels" -}}
app.kubernetes.io/name: restore-controller
app.kubernetes.io/component: controller
{{- end }}

{{- define "restore-controller.controllerImage" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "restore-controller.executorImage" -}}
{{ .Values.executorImage.repository }}:{{ .Values.executorImage.tag | default .Chart.AppVersion }}
{{- end }}
