package pkg

func TestNotChecked() {}
