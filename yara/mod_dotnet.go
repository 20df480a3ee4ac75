package yara

import "github.com/glassav/glassav/yara/dotnet"

// dotnetModule is yara's "dotnet" module: the CLI metadata of .NET PE
// files, with yara 4.2.3's fields and values (package yara/dotnet reads
// them, quirks included). It declares no functions. The 4.3 additions
// (classes and their methods) are not provided.
//
// Load builds a tree only for a .NET file. Data that is not a PE file gets
// the declared tree with everything undefined, and a PE file that is not
// .NET the same with is_dotnet = 0; both trees are built once, in
// newDotnetModule, and shared by every scan.
type dotnetModule struct{ decl, notPE, notDotnet *Object }

func newDotnetModule() dotnetModule {
	notDotnet := dotnetObject()
	notDotnet.Fields["is_dotnet"] = intObject(0)
	return dotnetModule{decl: dotnetObject(), notPE: dotnetObject(), notDotnet: notDotnet}
}

func (dotnetModule) Name() string { return "dotnet" }

func (m dotnetModule) Declare() *Object { return m.decl }

func (m dotnetModule) Load(sc *ScanContext) (*Object, error) {
	if !dotnet.IsPE(sc.Data) {
		return m.notPE, nil
	}
	switch pe, net := dotnet.Sniff(sc.Data); {
	case !pe:
		return m.notPE, nil
	case !net:
		return m.notDotnet, nil
	}
	f, err := dotnet.Parse(sc.Data)
	if err != nil || !f.IsDotNet { // Sniff said otherwise: cannot happen
		return m.notDotnet, nil
	}
	return dotnetValues(f), nil
}

// dotnetVersion declares an assembly version.
func dotnetVersion() *Object {
	return structOf(
		member{"major", scalar(KindInt)},
		member{"minor", scalar(KindInt)},
		member{"build_number", scalar(KindInt)},
		member{"revision_number", scalar(KindInt)},
	)
}

func dotnetStreamItem() *Object {
	return structOf(
		member{"name", scalar(KindString)},
		member{"offset", scalar(KindInt)},
		member{"size", scalar(KindInt)},
	)
}

func dotnetResourceItem() *Object {
	return structOf(
		member{"offset", scalar(KindInt)},
		member{"length", scalar(KindInt)},
		member{"name", scalar(KindString)},
	)
}

func dotnetAssemblyRefItem() *Object {
	return structOf(
		member{"version", dotnetVersion()},
		member{"public_key_or_token", scalar(KindString)},
		member{"name", scalar(KindString)},
	)
}

// dotnetObject declares the module in yara 4.2.3's order.
func dotnetObject() *Object {
	return structOf(
		member{"is_dotnet", scalar(KindInt)},
		member{"version", scalar(KindString)},
		member{"module_name", scalar(KindString)},
		member{"streams", arrayOf(dotnetStreamItem())},
		member{"number_of_streams", scalar(KindInt)},
		member{"guids", arrayOf(scalar(KindString))},
		member{"number_of_guids", scalar(KindInt)},
		member{"resources", arrayOf(dotnetResourceItem())},
		member{"number_of_resources", scalar(KindInt)},
		member{"assembly_refs", arrayOf(dotnetAssemblyRefItem())},
		member{"number_of_assembly_refs", scalar(KindInt)},
		member{"assembly", structOf(
			member{"version", dotnetVersion()},
			member{"name", scalar(KindString)},
			member{"culture", scalar(KindString)},
		)},
		member{"modulerefs", arrayOf(scalar(KindString))},
		member{"number_of_modulerefs", scalar(KindInt)},
		member{"user_strings", arrayOf(scalar(KindString))},
		member{"number_of_user_strings", scalar(KindInt)},
		member{"typelib", scalar(KindString)},
		member{"constants", arrayOf(scalar(KindString))},
		member{"number_of_constants", scalar(KindInt)},
		member{"field_offsets", arrayOf(scalar(KindInt))},
		member{"number_of_field_offsets", scalar(KindInt)},
	)
}

// bytesObject returns a defined string holding b (not copied: the tree
// shares the scanned data, as the parsed file does).
func bytesObject(b []byte) *Object {
	if b == nil {
		b = []byte{}
	}
	return &Object{Kind: KindString, Defined: true, Str: b}
}

// setVersion fills a declared version structure.
func setVersion(o *Object, v dotnet.Version) {
	o.Fields["major"] = intObject(int64(v.Major))
	o.Fields["minor"] = intObject(int64(v.Minor))
	o.Fields["build_number"] = intObject(int64(v.BuildNumber))
	o.Fields["revision_number"] = intObject(int64(v.RevisionNumber))
}

// stringItems returns array items holding the strings.
func stringItems(ss [][]byte) []*Object {
	items := make([]*Object, len(ss))
	objs := make([]Object, len(ss))
	for i, s := range ss {
		if s == nil {
			s = []byte{}
		}
		objs[i] = Object{Kind: KindString, Defined: true, Str: s}
		items[i] = &objs[i]
	}
	return items
}

// dotnetValues builds the module's tree for a parsed .NET file.
func dotnetValues(f *dotnet.File) *Object {
	o := dotnetObject()
	fl := o.Fields
	fl["is_dotnet"] = intObject(1)
	if f.HasVersion {
		fl["version"] = bytesObject(f.Version)
	}
	if f.HasModuleName {
		fl["module_name"] = bytesObject(f.ModuleName)
	}
	if f.HasStreams {
		a := fl["streams"]
		for _, s := range f.Streams {
			it := dotnetStreamItem()
			it.Fields["name"] = bytesObject(s.Name)
			it.Fields["offset"] = intObject(s.Offset)
			it.Fields["size"] = intObject(int64(s.Size))
			a.Items = append(a.Items, it)
		}
		fl["number_of_streams"] = intObject(int64(len(f.Streams)))
	}
	if f.HasGUIDs {
		a := fl["guids"]
		for _, g := range f.GUIDs {
			a.Items = append(a.Items, stringObject(g))
		}
		fl["number_of_guids"] = intObject(int64(len(f.GUIDs)))
	}
	if f.HasResources {
		a := fl["resources"]
		for _, r := range f.Resources {
			it := dotnetResourceItem()
			it.Fields["offset"] = intObject(r.Offset)
			it.Fields["length"] = intObject(int64(r.Length))
			if r.HasName {
				it.Fields["name"] = bytesObject(r.Name)
			}
			a.Items = append(a.Items, it)
		}
		fl["number_of_resources"] = intObject(int64(len(f.Resources)))
	}
	if f.HasAssemblyRefs {
		a := fl["assembly_refs"]
		for _, r := range f.AssemblyRefs {
			it := dotnetAssemblyRefItem()
			setVersion(it.Fields["version"], r.Version)
			if r.PublicKeyOrToken != nil {
				it.Fields["public_key_or_token"] = bytesObject(r.PublicKeyOrToken)
			}
			if r.HasName {
				it.Fields["name"] = bytesObject(r.Name)
			}
			a.Items = append(a.Items, it)
		}
		fl["number_of_assembly_refs"] = intObject(int64(len(f.AssemblyRefs)))
	}
	as := fl["assembly"].Fields
	if f.Assembly.HasVersion {
		setVersion(as["version"], f.Assembly.Version)
	}
	if f.Assembly.HasName {
		as["name"] = bytesObject(f.Assembly.Name)
	}
	if f.Assembly.HasCulture {
		as["culture"] = bytesObject(f.Assembly.Culture)
	}
	if f.HasModuleRefs {
		fl["modulerefs"].Items = stringItems(f.ModuleRefs)
		fl["number_of_modulerefs"] = intObject(int64(len(f.ModuleRefs)))
	}
	if f.HasUserStrings {
		fl["user_strings"].Items = stringItems(f.UserStrings)
		fl["number_of_user_strings"] = intObject(int64(len(f.UserStrings)))
	}
	if f.HasTypelib {
		fl["typelib"] = bytesObject(f.Typelib)
	}
	if f.HasConstants {
		fl["constants"].Items = stringItems(f.Constants)
		fl["number_of_constants"] = intObject(int64(len(f.Constants)))
	}
	if f.HasFieldOffsets {
		a := fl["field_offsets"]
		for _, v := range f.FieldOffsets {
			a.Items = append(a.Items, intObject(v))
		}
		fl["number_of_field_offsets"] = intObject(int64(len(f.FieldOffsets)))
	}
	return o
}
