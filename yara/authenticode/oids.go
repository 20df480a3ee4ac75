package authenticode

// Object names as OpenSSL 3.0 (the library yara 4.2.3 links on Debian 12)
// prints them: X509_NAME_oneline writes the short name of a name
// attribute (its long name when it has no short one), and yara's
// algorithm field is the long name of a certificate's signature
// algorithm. Only the arcs these two uses meet are listed (X.520
// attribute types, PKCS#9 attributes, the pilot/LDAP attributes and the
// EV jurisdiction attributes; signature and digest algorithms): an OID
// outside them prints as OpenSSL prints an unknown one. The tables are
// keyed by the OID's DER contents.

// attributeShortNames maps name attribute types to the names printed.
var attributeShortNames = map[string]string{
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01":     "UID",                           // 0.9.2342.19200300.100.1.1
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x02":     "textEncodedORAddress",          // 0.9.2342.19200300.100.1.2
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x03":     "mail",                          // 0.9.2342.19200300.100.1.3
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x04":     "info",                          // 0.9.2342.19200300.100.1.4
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x05":     "favouriteDrink",                // 0.9.2342.19200300.100.1.5
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x06":     "roomNumber",                    // 0.9.2342.19200300.100.1.6
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x07":     "photo",                         // 0.9.2342.19200300.100.1.7
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x08":     "userClass",                     // 0.9.2342.19200300.100.1.8
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x09":     "host",                          // 0.9.2342.19200300.100.1.9
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0a":     "manager",                       // 0.9.2342.19200300.100.1.10
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0b":     "documentIdentifier",            // 0.9.2342.19200300.100.1.11
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0c":     "documentTitle",                 // 0.9.2342.19200300.100.1.12
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0d":     "documentVersion",               // 0.9.2342.19200300.100.1.13
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0e":     "documentAuthor",                // 0.9.2342.19200300.100.1.14
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x0f":     "documentLocation",              // 0.9.2342.19200300.100.1.15
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x14":     "homeTelephoneNumber",           // 0.9.2342.19200300.100.1.20
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x15":     "secretary",                     // 0.9.2342.19200300.100.1.21
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x16":     "otherMailbox",                  // 0.9.2342.19200300.100.1.22
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x17":     "lastModifiedTime",              // 0.9.2342.19200300.100.1.23
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x18":     "lastModifiedBy",                // 0.9.2342.19200300.100.1.24
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19":     "DC",                            // 0.9.2342.19200300.100.1.25
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1a":     "aRecord",                       // 0.9.2342.19200300.100.1.26
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1b":     "pilotAttributeType27",          // 0.9.2342.19200300.100.1.27
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1c":     "mXRecord",                      // 0.9.2342.19200300.100.1.28
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1d":     "nSRecord",                      // 0.9.2342.19200300.100.1.29
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1e":     "sOARecord",                     // 0.9.2342.19200300.100.1.30
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x1f":     "cNAMERecord",                   // 0.9.2342.19200300.100.1.31
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x25":     "associatedDomain",              // 0.9.2342.19200300.100.1.37
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x26":     "associatedName",                // 0.9.2342.19200300.100.1.38
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x27":     "homePostalAddress",             // 0.9.2342.19200300.100.1.39
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x28":     "personalTitle",                 // 0.9.2342.19200300.100.1.40
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x29":     "mobileTelephoneNumber",         // 0.9.2342.19200300.100.1.41
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2a":     "pagerTelephoneNumber",          // 0.9.2342.19200300.100.1.42
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2b":     "friendlyCountryName",           // 0.9.2342.19200300.100.1.43
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2c":     "uid",                           // 0.9.2342.19200300.100.1.44
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2d":     "organizationalStatus",          // 0.9.2342.19200300.100.1.45
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2e":     "janetMailbox",                  // 0.9.2342.19200300.100.1.46
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x2f":     "mailPreferenceOption",          // 0.9.2342.19200300.100.1.47
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x30":     "buildingName",                  // 0.9.2342.19200300.100.1.48
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x31":     "dSAQuality",                    // 0.9.2342.19200300.100.1.49
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x32":     "singleLevelQuality",            // 0.9.2342.19200300.100.1.50
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x33":     "subtreeMinimumQuality",         // 0.9.2342.19200300.100.1.51
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x34":     "subtreeMaximumQuality",         // 0.9.2342.19200300.100.1.52
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x35":     "personalSignature",             // 0.9.2342.19200300.100.1.53
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x36":     "dITRedirect",                   // 0.9.2342.19200300.100.1.54
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x37":     "audio",                         // 0.9.2342.19200300.100.1.55
	"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x38":     "documentPublisher",             // 0.9.2342.19200300.100.1.56
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01":         "emailAddress",                  // 1.2.840.113549.1.9.1
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x02":         "unstructuredName",              // 1.2.840.113549.1.9.2
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x03":         "contentType",                   // 1.2.840.113549.1.9.3
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04":         "messageDigest",                 // 1.2.840.113549.1.9.4
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05":         "signingTime",                   // 1.2.840.113549.1.9.5
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x06":         "countersignature",              // 1.2.840.113549.1.9.6
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07":         "challengePassword",             // 1.2.840.113549.1.9.7
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x08":         "unstructuredAddress",           // 1.2.840.113549.1.9.8
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x09":         "extendedCertificateAttributes", // 1.2.840.113549.1.9.9
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e":         "extReq",                        // 1.2.840.113549.1.9.14
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0f":         "SMIME-CAPS",                    // 1.2.840.113549.1.9.15
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10":         "SMIME",                         // 1.2.840.113549.1.9.16
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x14":         "friendlyName",                  // 1.2.840.113549.1.9.20
	"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x15":         "localKeyID",                    // 1.2.840.113549.1.9.21
	"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x01": "jurisdictionL",                 // 1.3.6.1.4.1.311.60.2.1.1
	"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x02": "jurisdictionST",                // 1.3.6.1.4.1.311.60.2.1.2
	"\x2b\x06\x01\x04\x01\x82\x37\x3c\x02\x01\x03": "jurisdictionC",                 // 1.3.6.1.4.1.311.60.2.1.3
	"\x55\x04\x03": "CN",                          // 2.5.4.3
	"\x55\x04\x04": "SN",                          // 2.5.4.4
	"\x55\x04\x05": "serialNumber",                // 2.5.4.5
	"\x55\x04\x06": "C",                           // 2.5.4.6
	"\x55\x04\x07": "L",                           // 2.5.4.7
	"\x55\x04\x08": "ST",                          // 2.5.4.8
	"\x55\x04\x09": "street",                      // 2.5.4.9
	"\x55\x04\x0a": "O",                           // 2.5.4.10
	"\x55\x04\x0b": "OU",                          // 2.5.4.11
	"\x55\x04\x0c": "title",                       // 2.5.4.12
	"\x55\x04\x0d": "description",                 // 2.5.4.13
	"\x55\x04\x0e": "searchGuide",                 // 2.5.4.14
	"\x55\x04\x0f": "businessCategory",            // 2.5.4.15
	"\x55\x04\x10": "postalAddress",               // 2.5.4.16
	"\x55\x04\x11": "postalCode",                  // 2.5.4.17
	"\x55\x04\x12": "postOfficeBox",               // 2.5.4.18
	"\x55\x04\x13": "physicalDeliveryOfficeName",  // 2.5.4.19
	"\x55\x04\x14": "telephoneNumber",             // 2.5.4.20
	"\x55\x04\x15": "telexNumber",                 // 2.5.4.21
	"\x55\x04\x16": "teletexTerminalIdentifier",   // 2.5.4.22
	"\x55\x04\x17": "facsimileTelephoneNumber",    // 2.5.4.23
	"\x55\x04\x18": "x121Address",                 // 2.5.4.24
	"\x55\x04\x19": "internationaliSDNNumber",     // 2.5.4.25
	"\x55\x04\x1a": "registeredAddress",           // 2.5.4.26
	"\x55\x04\x1b": "destinationIndicator",        // 2.5.4.27
	"\x55\x04\x1c": "preferredDeliveryMethod",     // 2.5.4.28
	"\x55\x04\x1d": "presentationAddress",         // 2.5.4.29
	"\x55\x04\x1e": "supportedApplicationContext", // 2.5.4.30
	"\x55\x04\x1f": "member",                      // 2.5.4.31
	"\x55\x04\x20": "owner",                       // 2.5.4.32
	"\x55\x04\x21": "roleOccupant",                // 2.5.4.33
	"\x55\x04\x22": "seeAlso",                     // 2.5.4.34
	"\x55\x04\x23": "userPassword",                // 2.5.4.35
	"\x55\x04\x24": "userCertificate",             // 2.5.4.36
	"\x55\x04\x25": "cACertificate",               // 2.5.4.37
	"\x55\x04\x26": "authorityRevocationList",     // 2.5.4.38
	"\x55\x04\x27": "certificateRevocationList",   // 2.5.4.39
	"\x55\x04\x28": "crossCertificatePair",        // 2.5.4.40
	"\x55\x04\x29": "name",                        // 2.5.4.41
	"\x55\x04\x2a": "GN",                          // 2.5.4.42
	"\x55\x04\x2b": "initials",                    // 2.5.4.43
	"\x55\x04\x2c": "generationQualifier",         // 2.5.4.44
	"\x55\x04\x2d": "x500UniqueIdentifier",        // 2.5.4.45
	"\x55\x04\x2e": "dnQualifier",                 // 2.5.4.46
	"\x55\x04\x2f": "enhancedSearchGuide",         // 2.5.4.47
	"\x55\x04\x30": "protocolInformation",         // 2.5.4.48
	"\x55\x04\x31": "distinguishedName",           // 2.5.4.49
	"\x55\x04\x32": "uniqueMember",                // 2.5.4.50
	"\x55\x04\x33": "houseIdentifier",             // 2.5.4.51
	"\x55\x04\x34": "supportedAlgorithms",         // 2.5.4.52
	"\x55\x04\x35": "deltaRevocationList",         // 2.5.4.53
	"\x55\x04\x36": "dmdName",                     // 2.5.4.54
	"\x55\x04\x41": "pseudonym",                   // 2.5.4.65
	"\x55\x04\x48": "role",                        // 2.5.4.72
	"\x55\x04\x61": "organizationIdentifier",      // 2.5.4.97
	"\x55\x04\x62": "c3",                          // 2.5.4.98
	"\x55\x04\x63": "n3",                          // 2.5.4.99
	"\x55\x04\x64": "dnsName",                     // 2.5.4.100
}

// algorithmLongNames maps signature (and digest) algorithms to their long
// names.
var algorithmLongNames = map[string]string{
	"\x2a\x81\x1c\xcf\x55\x01\x83\x75":     "SM2-with-SM3",                                       // 1.2.156.10197.1.501
	"\x2a\x81\x1c\xcf\x55\x01\x83\x78":     "sm3WithRSAEncryption",                               // 1.2.156.10197.1.504
	"\x2a\x85\x03\x02\x02\x03":             "GOST R 34.11-94 with GOST R 34.10-2001",             // 1.2.643.2.2.3
	"\x2a\x85\x03\x02\x02\x04":             "GOST R 34.11-94 with GOST R 34.10-94",               // 1.2.643.2.2.4
	"\x2a\x85\x03\x02\x02\x09":             "GOST R 34.11-94",                                    // 1.2.643.2.2.9
	"\x2a\x85\x03\x02\x02\x0a":             "HMAC GOST 34.11-94",                                 // 1.2.643.2.2.10
	"\x2a\x85\x03\x02\x02\x0e\x00":         "id-Gost28147-89-None-KeyMeshing",                    // 1.2.643.2.2.14.0
	"\x2a\x85\x03\x02\x02\x0e\x01":         "id-Gost28147-89-CryptoPro-KeyMeshing",               // 1.2.643.2.2.14.1
	"\x2a\x85\x03\x02\x02\x13":             "GOST R 34.10-2001",                                  // 1.2.643.2.2.19
	"\x2a\x85\x03\x02\x02\x14":             "GOST R 34.10-94",                                    // 1.2.643.2.2.20
	"\x2a\x85\x03\x02\x02\x14\x01":         "id-GostR3410-94-a",                                  // 1.2.643.2.2.20.1
	"\x2a\x85\x03\x02\x02\x14\x02":         "id-GostR3410-94-aBis",                               // 1.2.643.2.2.20.2
	"\x2a\x85\x03\x02\x02\x14\x03":         "id-GostR3410-94-b",                                  // 1.2.643.2.2.20.3
	"\x2a\x85\x03\x02\x02\x14\x04":         "id-GostR3410-94-bBis",                               // 1.2.643.2.2.20.4
	"\x2a\x85\x03\x02\x02\x15":             "GOST 28147-89",                                      // 1.2.643.2.2.21
	"\x2a\x85\x03\x02\x02\x16":             "GOST 28147-89 MAC",                                  // 1.2.643.2.2.22
	"\x2a\x85\x03\x02\x02\x17":             "GOST R 34.11-94 PRF",                                // 1.2.643.2.2.23
	"\x2a\x85\x03\x02\x02\x1e\x00":         "id-GostR3411-94-TestParamSet",                       // 1.2.643.2.2.30.0
	"\x2a\x85\x03\x02\x02\x1e\x01":         "id-GostR3411-94-CryptoProParamSet",                  // 1.2.643.2.2.30.1
	"\x2a\x85\x03\x02\x02\x1f\x00":         "id-Gost28147-89-TestParamSet",                       // 1.2.643.2.2.31.0
	"\x2a\x85\x03\x02\x02\x1f\x01":         "id-Gost28147-89-CryptoPro-A-ParamSet",               // 1.2.643.2.2.31.1
	"\x2a\x85\x03\x02\x02\x1f\x02":         "id-Gost28147-89-CryptoPro-B-ParamSet",               // 1.2.643.2.2.31.2
	"\x2a\x85\x03\x02\x02\x1f\x03":         "id-Gost28147-89-CryptoPro-C-ParamSet",               // 1.2.643.2.2.31.3
	"\x2a\x85\x03\x02\x02\x1f\x04":         "id-Gost28147-89-CryptoPro-D-ParamSet",               // 1.2.643.2.2.31.4
	"\x2a\x85\x03\x02\x02\x1f\x05":         "id-Gost28147-89-CryptoPro-Oscar-1-1-ParamSet",       // 1.2.643.2.2.31.5
	"\x2a\x85\x03\x02\x02\x1f\x06":         "id-Gost28147-89-CryptoPro-Oscar-1-0-ParamSet",       // 1.2.643.2.2.31.6
	"\x2a\x85\x03\x02\x02\x1f\x07":         "id-Gost28147-89-CryptoPro-RIC-1-ParamSet",           // 1.2.643.2.2.31.7
	"\x2a\x85\x03\x02\x02\x20\x00":         "id-GostR3410-94-TestParamSet",                       // 1.2.643.2.2.32.0
	"\x2a\x85\x03\x02\x02\x20\x02":         "id-GostR3410-94-CryptoPro-A-ParamSet",               // 1.2.643.2.2.32.2
	"\x2a\x85\x03\x02\x02\x20\x03":         "id-GostR3410-94-CryptoPro-B-ParamSet",               // 1.2.643.2.2.32.3
	"\x2a\x85\x03\x02\x02\x20\x04":         "id-GostR3410-94-CryptoPro-C-ParamSet",               // 1.2.643.2.2.32.4
	"\x2a\x85\x03\x02\x02\x20\x05":         "id-GostR3410-94-CryptoPro-D-ParamSet",               // 1.2.643.2.2.32.5
	"\x2a\x85\x03\x02\x02\x21\x01":         "id-GostR3410-94-CryptoPro-XchA-ParamSet",            // 1.2.643.2.2.33.1
	"\x2a\x85\x03\x02\x02\x21\x02":         "id-GostR3410-94-CryptoPro-XchB-ParamSet",            // 1.2.643.2.2.33.2
	"\x2a\x85\x03\x02\x02\x21\x03":         "id-GostR3410-94-CryptoPro-XchC-ParamSet",            // 1.2.643.2.2.33.3
	"\x2a\x85\x03\x02\x02\x23\x00":         "id-GostR3410-2001-TestParamSet",                     // 1.2.643.2.2.35.0
	"\x2a\x85\x03\x02\x02\x23\x01":         "id-GostR3410-2001-CryptoPro-A-ParamSet",             // 1.2.643.2.2.35.1
	"\x2a\x85\x03\x02\x02\x23\x02":         "id-GostR3410-2001-CryptoPro-B-ParamSet",             // 1.2.643.2.2.35.2
	"\x2a\x85\x03\x02\x02\x23\x03":         "id-GostR3410-2001-CryptoPro-C-ParamSet",             // 1.2.643.2.2.35.3
	"\x2a\x85\x03\x02\x02\x24\x00":         "id-GostR3410-2001-CryptoPro-XchA-ParamSet",          // 1.2.643.2.2.36.0
	"\x2a\x85\x03\x02\x02\x24\x01":         "id-GostR3410-2001-CryptoPro-XchB-ParamSet",          // 1.2.643.2.2.36.1
	"\x2a\x85\x03\x02\x02\x62":             "GOST R 34.10-2001 DH",                               // 1.2.643.2.2.98
	"\x2a\x85\x03\x02\x02\x63":             "GOST R 34.10-94 DH",                                 // 1.2.643.2.2.99
	"\x2a\x85\x03\x07\x01\x01\x03\x02":     "GOST R 34.10-2012 with GOST R 34.11-2012 (256 bit)", // 1.2.643.7.1.1.3.2
	"\x2a\x85\x03\x07\x01\x01\x03\x03":     "GOST R 34.10-2012 with GOST R 34.11-2012 (512 bit)", // 1.2.643.7.1.1.3.3
	"\x2a\x86\x48\xce\x38\x04\x01":         "dsaEncryption",                                      // 1.2.840.10040.4.1
	"\x2a\x86\x48\xce\x38\x04\x03":         "dsaWithSHA1",                                        // 1.2.840.10040.4.3
	"\x2a\x86\x48\xce\x3d\x04\x01":         "ecdsa-with-SHA1",                                    // 1.2.840.10045.4.1
	"\x2a\x86\x48\xce\x3d\x04\x02":         "ecdsa-with-Recommended",                             // 1.2.840.10045.4.2
	"\x2a\x86\x48\xce\x3d\x04\x03":         "ecdsa-with-Specified",                               // 1.2.840.10045.4.3
	"\x2a\x86\x48\xce\x3d\x04\x03\x01":     "ecdsa-with-SHA224",                                  // 1.2.840.10045.4.3.1
	"\x2a\x86\x48\xce\x3d\x04\x03\x02":     "ecdsa-with-SHA256",                                  // 1.2.840.10045.4.3.2
	"\x2a\x86\x48\xce\x3d\x04\x03\x03":     "ecdsa-with-SHA384",                                  // 1.2.840.10045.4.3.3
	"\x2a\x86\x48\xce\x3d\x04\x03\x04":     "ecdsa-with-SHA512",                                  // 1.2.840.10045.4.3.4
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01": "rsaEncryption",                                      // 1.2.840.113549.1.1.1
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x02": "md2WithRSAEncryption",                               // 1.2.840.113549.1.1.2
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x03": "md4WithRSAEncryption",                               // 1.2.840.113549.1.1.3
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x04": "md5WithRSAEncryption",                               // 1.2.840.113549.1.1.4
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x05": "sha1WithRSAEncryption",                              // 1.2.840.113549.1.1.5
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x06": "rsaOAEPEncryptionSET",                               // 1.2.840.113549.1.1.6
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x07": "rsaesOaep",                                          // 1.2.840.113549.1.1.7
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x08": "mgf1",                                               // 1.2.840.113549.1.1.8
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x09": "pSpecified",                                         // 1.2.840.113549.1.1.9
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a": "rsassaPss",                                          // 1.2.840.113549.1.1.10
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b": "sha256WithRSAEncryption",                            // 1.2.840.113549.1.1.11
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0c": "sha384WithRSAEncryption",                            // 1.2.840.113549.1.1.12
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0d": "sha512WithRSAEncryption",                            // 1.2.840.113549.1.1.13
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0e": "sha224WithRSAEncryption",                            // 1.2.840.113549.1.1.14
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0f": "sha512-224WithRSAEncryption",                        // 1.2.840.113549.1.1.15
	"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x10": "sha512-256WithRSAEncryption",                        // 1.2.840.113549.1.1.16
	"\x2a\x86\x48\x86\xf7\x0d\x02\x02":     "md2",                                                // 1.2.840.113549.2.2
	"\x2a\x86\x48\x86\xf7\x0d\x02\x04":     "md4",                                                // 1.2.840.113549.2.4
	"\x2a\x86\x48\x86\xf7\x0d\x02\x05":     "md5",                                                // 1.2.840.113549.2.5
	"\x2a\x86\x48\x86\xf7\x0d\x02\x06":     "hmacWithMD5",                                        // 1.2.840.113549.2.6
	"\x2a\x86\x48\x86\xf7\x0d\x02\x07":     "hmacWithSHA1",                                       // 1.2.840.113549.2.7
	"\x2a\x86\x48\x86\xf7\x0d\x02\x08":     "hmacWithSHA224",                                     // 1.2.840.113549.2.8
	"\x2a\x86\x48\x86\xf7\x0d\x02\x09":     "hmacWithSHA256",                                     // 1.2.840.113549.2.9
	"\x2a\x86\x48\x86\xf7\x0d\x02\x0a":     "hmacWithSHA384",                                     // 1.2.840.113549.2.10
	"\x2a\x86\x48\x86\xf7\x0d\x02\x0b":     "hmacWithSHA512",                                     // 1.2.840.113549.2.11
	"\x2a\x86\x48\x86\xf7\x0d\x02\x0c":     "hmacWithSHA512-224",                                 // 1.2.840.113549.2.12
	"\x2a\x86\x48\x86\xf7\x0d\x02\x0d":     "hmacWithSHA512-256",                                 // 1.2.840.113549.2.13
	"\x2b\x0e\x03\x02\x03":                 "md5WithRSA",                                         // 1.3.14.3.2.3
	"\x2b\x0e\x03\x02\x06":                 "des-ecb",                                            // 1.3.14.3.2.6
	"\x2b\x0e\x03\x02\x07":                 "des-cbc",                                            // 1.3.14.3.2.7
	"\x2b\x0e\x03\x02\x08":                 "des-ofb",                                            // 1.3.14.3.2.8
	"\x2b\x0e\x03\x02\x09":                 "des-cfb",                                            // 1.3.14.3.2.9
	"\x2b\x0e\x03\x02\x0b":                 "rsaSignature",                                       // 1.3.14.3.2.11
	"\x2b\x0e\x03\x02\x0c":                 "dsaEncryption-old",                                  // 1.3.14.3.2.12
	"\x2b\x0e\x03\x02\x0d":                 "dsaWithSHA",                                         // 1.3.14.3.2.13
	"\x2b\x0e\x03\x02\x0f":                 "shaWithRSAEncryption",                               // 1.3.14.3.2.15
	"\x2b\x0e\x03\x02\x11":                 "des-ede",                                            // 1.3.14.3.2.17
	"\x2b\x0e\x03\x02\x12":                 "sha",                                                // 1.3.14.3.2.18
	"\x2b\x0e\x03\x02\x1a":                 "sha1",                                               // 1.3.14.3.2.26
	"\x2b\x0e\x03\x02\x1b":                 "dsaWithSHA1-old",                                    // 1.3.14.3.2.27
	"\x2b\x0e\x03\x02\x1d":                 "sha1WithRSA",                                        // 1.3.14.3.2.29
	"\x2b\x24\x03\x03\x01\x02":             "ripemd160WithRSA",                                   // 1.3.36.3.3.1.2
	"\x2b\x65\x01\x04\x01":                 "Strong Extranet ID",                                 // 1.3.101.1.4.1
	"\x2b\x65\x6e":                         "X25519",                                             // 1.3.101.110
	"\x2b\x65\x6f":                         "X448",                                               // 1.3.101.111
	"\x2b\x65\x70":                         "ED25519",                                            // 1.3.101.112
	"\x2b\x65\x71":                         "ED448",                                              // 1.3.101.113
	"\x60\x86\x48\x01\x65\x03\x04\x02\x01": "sha256",                                             // 2.16.840.1.101.3.4.2.1
	"\x60\x86\x48\x01\x65\x03\x04\x02\x02": "sha384",                                             // 2.16.840.1.101.3.4.2.2
	"\x60\x86\x48\x01\x65\x03\x04\x02\x03": "sha512",                                             // 2.16.840.1.101.3.4.2.3
	"\x60\x86\x48\x01\x65\x03\x04\x02\x04": "sha224",                                             // 2.16.840.1.101.3.4.2.4
	"\x60\x86\x48\x01\x65\x03\x04\x02\x05": "sha512-224",                                         // 2.16.840.1.101.3.4.2.5
	"\x60\x86\x48\x01\x65\x03\x04\x02\x06": "sha512-256",                                         // 2.16.840.1.101.3.4.2.6
	"\x60\x86\x48\x01\x65\x03\x04\x02\x07": "sha3-224",                                           // 2.16.840.1.101.3.4.2.7
	"\x60\x86\x48\x01\x65\x03\x04\x02\x08": "sha3-256",                                           // 2.16.840.1.101.3.4.2.8
	"\x60\x86\x48\x01\x65\x03\x04\x02\x09": "sha3-384",                                           // 2.16.840.1.101.3.4.2.9
	"\x60\x86\x48\x01\x65\x03\x04\x02\x0a": "sha3-512",                                           // 2.16.840.1.101.3.4.2.10
	"\x60\x86\x48\x01\x65\x03\x04\x02\x0b": "shake128",                                           // 2.16.840.1.101.3.4.2.11
	"\x60\x86\x48\x01\x65\x03\x04\x02\x0c": "shake256",                                           // 2.16.840.1.101.3.4.2.12
	"\x60\x86\x48\x01\x65\x03\x04\x02\x0d": "hmac-sha3-224",                                      // 2.16.840.1.101.3.4.2.13
	"\x60\x86\x48\x01\x65\x03\x04\x02\x0e": "hmac-sha3-256",                                      // 2.16.840.1.101.3.4.2.14
	"\x60\x86\x48\x01\x65\x03\x04\x02\x0f": "hmac-sha3-384",                                      // 2.16.840.1.101.3.4.2.15
	"\x60\x86\x48\x01\x65\x03\x04\x02\x10": "hmac-sha3-512",                                      // 2.16.840.1.101.3.4.2.16
	"\x60\x86\x48\x01\x65\x03\x04\x02\x13": "kmac128",                                            // 2.16.840.1.101.3.4.2.19
	"\x60\x86\x48\x01\x65\x03\x04\x02\x14": "kmac256",                                            // 2.16.840.1.101.3.4.2.20
	"\x60\x86\x48\x01\x65\x03\x04\x03\x01": "dsa_with_SHA224",                                    // 2.16.840.1.101.3.4.3.1
	"\x60\x86\x48\x01\x65\x03\x04\x03\x02": "dsa_with_SHA256",                                    // 2.16.840.1.101.3.4.3.2
	"\x60\x86\x48\x01\x65\x03\x04\x03\x03": "dsa_with_SHA384",                                    // 2.16.840.1.101.3.4.3.3
	"\x60\x86\x48\x01\x65\x03\x04\x03\x04": "dsa_with_SHA512",                                    // 2.16.840.1.101.3.4.3.4
	"\x60\x86\x48\x01\x65\x03\x04\x03\x05": "dsa_with_SHA3-224",                                  // 2.16.840.1.101.3.4.3.5
	"\x60\x86\x48\x01\x65\x03\x04\x03\x06": "dsa_with_SHA3-256",                                  // 2.16.840.1.101.3.4.3.6
	"\x60\x86\x48\x01\x65\x03\x04\x03\x07": "dsa_with_SHA3-384",                                  // 2.16.840.1.101.3.4.3.7
	"\x60\x86\x48\x01\x65\x03\x04\x03\x08": "dsa_with_SHA3-512",                                  // 2.16.840.1.101.3.4.3.8
	"\x60\x86\x48\x01\x65\x03\x04\x03\x09": "ecdsa_with_SHA3-224",                                // 2.16.840.1.101.3.4.3.9
	"\x60\x86\x48\x01\x65\x03\x04\x03\x0a": "ecdsa_with_SHA3-256",                                // 2.16.840.1.101.3.4.3.10
	"\x60\x86\x48\x01\x65\x03\x04\x03\x0b": "ecdsa_with_SHA3-384",                                // 2.16.840.1.101.3.4.3.11
	"\x60\x86\x48\x01\x65\x03\x04\x03\x0c": "ecdsa_with_SHA3-512",                                // 2.16.840.1.101.3.4.3.12
	"\x60\x86\x48\x01\x65\x03\x04\x03\x0d": "RSA-SHA3-224",                                       // 2.16.840.1.101.3.4.3.13
	"\x60\x86\x48\x01\x65\x03\x04\x03\x0e": "RSA-SHA3-256",                                       // 2.16.840.1.101.3.4.3.14
	"\x60\x86\x48\x01\x65\x03\x04\x03\x0f": "RSA-SHA3-384",                                       // 2.16.840.1.101.3.4.3.15
	"\x60\x86\x48\x01\x65\x03\x04\x03\x10": "RSA-SHA3-512",                                       // 2.16.840.1.101.3.4.3.16
}
