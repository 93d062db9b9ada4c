{{- define "kjd.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "kjd.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "kjd.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kjd.serviceAccountName" -}}
{{- default (include "kjd.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "kjd.jobTemplates" -}}
{{- if .Values.jobTemplates -}}
{{- toYaml .Values.jobTemplates -}}
{{- else -}}
worker-job.yaml: |
{{ .Files.Get "files/worker-job.yaml" | indent 2 }}
{{- end -}}
{{- end -}}
