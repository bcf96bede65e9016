package samtemplate

import "fmt"

// BucketSettings is what the local S3 obeys of an AWS::S3::Bucket: its
// versioning and its CORS rules, with the template's conditions (HasCors)
// and parameters already applied.
type BucketSettings struct {
	Versioned bool
	CORS      []CORSRule
}

// CORSRule is one of CorsConfiguration.CorsRules.
type CORSRule struct {
	AllowedOrigins []string
	AllowedMethods []string
	AllowedHeaders []string
	ExposedHeaders []string
	MaxAge         int
}

// BucketSettings reads the versioning and CORS rules of the bucket
// logicalID.
func (t *Template) BucketSettings(logicalID string) (BucketSettings, error) {
	r, ok := t.rawResources()[logicalID]
	if !ok || r["Type"] != "AWS::S3::Bucket" {
		return BucketSettings{}, fmt.Errorf("samtemplate: no AWS::S3::Bucket %q", logicalID)
	}
	var out BucketSettings
	out.Versioned = dig(r, "Properties", "VersioningConfiguration", "Status") == "Enabled"
	rules, _ := dig(r, "Properties", "CorsConfiguration", "CorsRules").([]any)
	for i, raw := range rules {
		m, _ := raw.(map[string]any)
		rule := CORSRule{
			AllowedOrigins: stringList(m["AllowedOrigins"]), AllowedMethods: stringList(m["AllowedMethods"]),
			AllowedHeaders: stringList(m["AllowedHeaders"]), ExposedHeaders: stringList(m["ExposedHeaders"]),
		}
		if v, ok := m["MaxAge"]; ok {
			if rule.MaxAge, ok = number(v); !ok {
				return BucketSettings{}, fmt.Errorf("samtemplate: %s: CorsRules[%d].MaxAge is not a whole number", logicalID, i)
			}
		}
		if len(rule.AllowedOrigins) == 0 || len(rule.AllowedMethods) == 0 {
			return BucketSettings{}, fmt.Errorf("samtemplate: %s: CorsRules[%d] needs AllowedOrigins and AllowedMethods", logicalID, i)
		}
		out.CORS = append(out.CORS, rule)
	}
	return out, nil
}
